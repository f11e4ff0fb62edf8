//! The token from AWS Secrets Manager, against the emulator.

use filetrail_influxdb::{Error, Token, secret_token};
use filetrail_testkit::{emulator, unique_name};

#[tokio::test]
async fn the_token_is_read_from_a_plain_or_json_secret() {
    let sdk = emulator().await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let plain = sm
        .create_secret()
        .name(unique_name("influx-token"))
        .secret_string("tok-plain-123\n")
        .send()
        .await
        .expect("create");
    let json = sm
        .create_secret()
        .name(unique_name("influx-token"))
        .secret_string(r#"{"token":"tok-json-456","username":"admin"}"#)
        .send()
        .await
        .expect("create");
    let arn = |o: &aws_sdk_secretsmanager::operation::create_secret::CreateSecretOutput| {
        o.arn().expect("arn").to_owned()
    };
    assert_eq!(
        secret_token(&sm, &arn(&plain)).await,
        Ok(Token::new("tok-plain-123"))
    );
    assert_eq!(
        secret_token(&sm, &arn(&json)).await,
        Ok(Token::new("tok-json-456"))
    );
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf";
    match secret_token(&sm, missing).await {
        Err(Error::Secret { arn, message }) => {
            assert_eq!(arn, missing);
            assert!(message.contains("ResourceNotFound"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
