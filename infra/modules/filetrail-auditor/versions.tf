terraform {
  # The floor the project supports (the syntax used - preconditions, startswith - is older);
  # a 2.x release may break it.
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
