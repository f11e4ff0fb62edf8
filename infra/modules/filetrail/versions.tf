terraform {
  # Preconditions, optional object attributes and `moved` all exist from 1.6 on; 2.x may break them.
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: `logging_config` on aws_lambda_function, `scaling_config` on the event source mapping,
      # `magnetic_store_write_properties` on the Timestream table, `region` on aws_region.
      version = "~> 6.0"
    }
  }
}
