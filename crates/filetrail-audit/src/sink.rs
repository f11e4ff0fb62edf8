//! The trail in whichever store the recorder writes to, as the recorder's configuration names
//! it: the one place `filetrail audit` and the auditor turn a [`TrailConfig`] into a [`Trail`].

use filetrail_influxdb::{HyperTransport, InfluxDb};
use filetrail_recorder::SinkConfig;

use crate::config::TrailConfig;
use crate::error::TrailError;
use crate::influx::InfluxTrail;
use crate::timestream::{Sql, TimestreamTrail, query_client};
use crate::trail::{Found, Lookup, Trail};

/// The trail of either sink.
#[derive(Debug)]
pub enum SinkTrail {
    /// Timestream for LiveAnalytics (Query).
    Timestream(TimestreamTrail),
    /// InfluxDB (InfluxQL); boxed, its HTTP client is much larger than a Timestream client.
    InfluxDb(Box<InfluxTrail<HyperTransport>>),
}

/// Why the trail's client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The Timestream Query client could not discover its endpoint.
    #[error("Timestream query client: {0}")]
    Timestream(String),
    /// The InfluxDB token could not be read (its secret).
    #[error("InfluxDB token: {0}")]
    InfluxDbToken(String),
    /// The InfluxDB client could not be built.
    #[error("InfluxDB client: {0}")]
    InfluxDbClient(String),
}

impl SinkTrail {
    /// Connect to the store `config` names, with `sdk`'s credentials (the InfluxDB token is
    /// read once, here): Timestream through [`query_client`] with [`Sql`] for the configured
    /// table and layout, InfluxDB through its HTTP client.
    pub async fn connect(
        config: &TrailConfig,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, ConnectError> {
        match &config.sink {
            SinkConfig::Timestream => {
                let client = query_client(sdk)
                    .await
                    .map_err(|e| ConnectError::Timestream(e.to_string()))?;
                let sql = Sql::new(&config.database, &config.table, config.layout);
                Ok(Self::Timestream(TimestreamTrail::new(client, sql)))
            }
            SinkConfig::InfluxDb(influx) => {
                let token = influx
                    .token(sdk)
                    .await
                    .map_err(|e| ConnectError::InfluxDbToken(e.to_string()))?;
                let client = InfluxDb::new(influx, token)
                    .map_err(|e| ConnectError::InfluxDbClient(e.to_string()))?;
                Ok(Self::InfluxDb(Box::new(InfluxTrail::new(client))))
            }
        }
    }
}

impl Trail for SinkTrail {
    async fn lookup(&self, lookup: &Lookup<'_>) -> Result<Found, TrailError> {
        match self {
            Self::Timestream(t) => t.lookup(lookup).await,
            Self::InfluxDb(t) => t.lookup(lookup).await,
        }
    }
}
