//! Following a MySQL/MariaDB binary log (ROW format) from a file + offset: row images, commits,
//! DDL statements and heartbeats, with the position *after* each item, so a reader restarted
//! at a stored position continues exactly there. Positions are taken at transaction ends only
//! (XID or COMMIT), never inside a transaction.
//!
//! MariaDB specifics handled here (mysql_common does not decode MariaDB events): GTID events
//! (162) are decoded for the position's GTID; compressed row/query events (165–171) stop the
//! reader with an error instead of being skipped. The first ROTATE of a stream is artificial
//! and ignored: the reader already knows where it starts.

use crate::connect::SourceSpec;
use crate::{Error, Result};
use futures_util::StreamExt;
use mysql_async::binlog::events::{EventData, RowsEventData};
use mysql_async::prelude::*;
use mysql_async::{BinlogStream, BinlogStreamRequest, OptsBuilder, Value};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A binlog coordinate: the next event to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    pub file: String,
    pub pos: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Insert,
    Update,
    Delete,
}

#[derive(Debug, Clone)]
pub struct RowChange {
    pub database: String,
    pub table: String,
    pub kind: RowKind,
    pub before: Option<Vec<Value>>,
    pub after: Option<Vec<Value>>,
}

#[derive(Debug, Clone)]
pub enum Item {
    /// A transaction starts (MariaDB GTID `domain-server-seq` when known).
    Begin {
        gtid: Option<String>,
    },
    Row(RowChange),
    /// The transaction ends; `next` is where the following one starts.
    Commit {
        next: Position,
        timestamp: u32,
    },
    /// A statement outside a row transaction (DDL), with the position after it.
    Statement {
        schema: String,
        query: String,
        next: Position,
        timestamp: u32,
    },
    /// The source is alive and has nothing more at `position` (or past it, when other
    /// databases' events were filtered out).
    Heartbeat {
        position: Position,
    },
}

/// Checks that the server writes a binlog the reader can follow.
pub async fn check_prerequisites(spec: &SourceSpec) -> Result<()> {
    let mut c = spec.connect(&[]).await?;
    let (log_bin, format, image): (Option<String>, Option<String>, Option<String>) = c
        .query_first("SELECT @@GLOBAL.log_bin, @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image")
        .await?
        .unwrap_or((None, None, None));
    let mut problems = Vec::new();
    if !matches!(log_bin.as_deref(), Some("1") | Some("ON")) {
        problems.push("the binary log is off (start the server with --log-bin)".to_string());
    }
    if format.as_deref() != Some("ROW") {
        problems.push(format!(
            "binlog_format is {} (needs ROW: SET GLOBAL binlog_format = 'ROW', and in the server config)",
            format.unwrap_or_default()
        ));
    }
    if image.as_deref() != Some("FULL") {
        problems.push(format!(
            "binlog_row_image is {} (needs FULL: SET GLOBAL binlog_row_image = 'FULL')",
            image.unwrap_or_default()
        ));
    }
    let compress: Option<String> = c
        .query_first("SELECT @@GLOBAL.log_bin_compress")
        .await
        .ok()
        .flatten();
    if matches!(compress.as_deref(), Some("1") | Some("ON")) {
        problems.push("log_bin_compress is ON (compressed events are not supported: SET GLOBAL log_bin_compress = OFF)".into());
    }
    // MySQL 8.0.20+: compressed transaction payloads and partial JSON images.
    let mysql8: Option<(Option<String>, Option<String>)> = c
        .query_first(
            "SELECT @@GLOBAL.binlog_transaction_compression, @@GLOBAL.binlog_row_value_options",
        )
        .await
        .ok()
        .flatten();
    if let Some((compression, value_options)) = mysql8 {
        if matches!(compression.as_deref(), Some("1") | Some("ON")) {
            problems.push("binlog_transaction_compression is ON (SET GLOBAL binlog_transaction_compression = OFF)".into());
        }
        if value_options.as_deref().is_some_and(|v| !v.is_empty()) {
            problems.push("binlog_row_value_options is PARTIAL_JSON (SET GLOBAL binlog_row_value_options = '')".into());
        }
    }
    if let Err(e) = current_position(&mut c).await {
        problems.push(format!(
            "cannot read the binlog position ({e}): the user needs REPLICATION CLIENT (MariaDB 10.5+: BINLOG MONITOR) and REPLICATION SLAVE"
        ));
    }
    let _ = c.disconnect().await;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Db(format!(
            "the source cannot be followed: {}",
            problems.join("; ")
        )))
    }
}

/// The server's current binlog position (`SHOW MASTER STATUS`; MySQL 8.4: `SHOW BINARY LOG STATUS`).
pub async fn current_position(c: &mut mysql_async::Conn) -> Result<Position> {
    let row: Option<mysql_async::Row> = match c.query_first("SHOW MASTER STATUS").await {
        Ok(r) => r,
        Err(_) => c.query_first("SHOW BINARY LOG STATUS").await?,
    };
    let row = row.ok_or_else(|| {
        Error::Db("SHOW MASTER STATUS returned nothing: is the binary log on?".into())
    })?;
    let file: String = row.get(0).unwrap_or_default();
    let pos: u64 = row.get(1).unwrap_or(4);
    Ok(Position { file, pos })
}

/// The binlog files the server still has.
pub async fn binlog_files(c: &mut mysql_async::Conn) -> Result<Vec<String>> {
    let rows: Vec<mysql_async::Row> = c.query("SHOW BINARY LOGS").await?;
    Ok(rows.iter().filter_map(|r| r.get::<String, _>(0)).collect())
}

/// MariaDB's `@@gtid_binlog_pos` (MySQL: `@@gtid_executed`), for display.
pub async fn current_gtid(c: &mut mysql_async::Conn) -> Option<String> {
    let v: Option<Option<String>> = c.query_first("SELECT @@GLOBAL.gtid_binlog_pos").await.ok();
    match v.flatten() {
        Some(g) => Some(g),
        None => c
            .query_first::<Option<String>, _>("SELECT @@GLOBAL.gtid_executed")
            .await
            .ok()
            .flatten()
            .flatten(),
    }
}

pub struct Reader {
    stream: BinlogStream,
    database: String,
    file: String,
    pos: u64,
    heartbeat: Duration,
    in_transaction: bool,
    pending: std::collections::VecDeque<RowChange>,
}

impl Reader {
    /// Starts reading at `from`, keeping only row events of `database`. A server id unique
    /// among the source's replicas is needed; `heartbeat` is how often an idle source says so.
    pub async fn open(
        spec: &SourceSpec,
        server_id: u32,
        from: &Position,
        database: &str,
        heartbeat: Duration,
    ) -> Result<Reader> {
        let mut conn = spec.connect(&[]).await?;
        let files = binlog_files(&mut conn).await?;
        if !files.iter().any(|f| f == &from.file) {
            return Err(Error::Purged(from.to_string()));
        }
        let opts = OptsBuilder::from_opts(conn.opts().clone()).max_allowed_packet(Some(1 << 30));
        let _ = conn.disconnect().await;
        let mut conn = mysql_async::Conn::new(opts)
            .await
            .map_err(|e| Error::Db(spec.scrub(&e.to_string())))?;
        let nanos = heartbeat.as_nanos() as u64;
        conn.query_drop(format!("SET @master_heartbeat_period = {nanos}"))
            .await?;
        // Real GTID events instead of BEGIN stand-ins (MariaDB; harmless on MySQL).
        conn.query_drop("SET @mariadb_slave_capability = 4").await?;
        let request = BinlogStreamRequest::new(server_id)
            .with_filename(from.file.as_bytes())
            .with_pos(from.pos);
        let stream = conn.get_binlog_stream(request).await.map_err(|e| {
            Error::Db(spec.scrub(&format!("cannot follow the binlog from {from}: {e}")))
        })?;
        Ok(Reader {
            stream,
            database: database.to_string(),
            file: from.file.clone(),
            pos: from.pos,
            heartbeat,
            in_transaction: false,
            pending: Default::default(),
        })
    }

    pub fn position(&self) -> Position {
        Position {
            file: self.file.clone(),
            pos: self.pos,
        }
    }

    /// The next item; `Ok(None)` when the stream ended. Silence longer than a few heartbeat
    /// periods is an error (the connection is dead even if TCP has not noticed).
    pub async fn next(&mut self) -> Result<Option<Item>> {
        if let Some(r) = self.pending.pop_front() {
            return Ok(Some(Item::Row(r)));
        }
        loop {
            let wait = self.heartbeat * 3 + Duration::from_secs(2);
            let event = match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => {
                    return Err(Error::Db(format!(
                        "no event or heartbeat from the source for {wait:?}"
                    )))
                }
                Ok(None) => return Ok(None),
                Ok(Some(Err(e))) => return Err(Error::Db(format!("binlog stream: {e}"))),
                Ok(Some(Ok(ev))) => ev,
            };
            let header = event.header();
            let raw_type = header.event_type_raw();
            let artificial = header.flags().bits() & 0x20 != 0 || header.log_pos() == 0;
            let next_pos = header.log_pos() as u64;
            let advance = |r: &mut Reader| {
                if !artificial && next_pos > 0 {
                    r.pos = next_pos;
                }
            };
            match raw_type {
                162 => {
                    // MariaDB GTID: seq_no u64, domain u32, flags u8.
                    let d = event.data();
                    let gtid = (d.len() >= 13).then(|| {
                        let seq = u64::from_le_bytes(d[0..8].try_into().unwrap());
                        let domain = u32::from_le_bytes(d[8..12].try_into().unwrap());
                        format!("{domain}-{}-{seq}", header.server_id())
                    });
                    advance(self);
                    self.in_transaction = d.len() >= 13 && d[12] & 1 == 0;
                    return Ok(Some(Item::Begin { gtid }));
                }
                // MySQL TRANSACTION_PAYLOAD (compressed transactions) and MariaDB's compressed events.
                40 | 165..=171 => {
                    return Err(Error::Db(format!(
                        "compressed binlog event (type {raw_type}) at {}: set log_bin_compress = OFF on the source",
                        self.position()
                    )))
                }
                _ => {}
            }
            let data = event.read_data().map_err(|e| {
                Error::Db(format!(
                    "cannot decode binlog event at {}: {e}",
                    self.position()
                ))
            })?;
            let Some(data) = data else {
                advance(self);
                continue;
            };
            match data {
                EventData::RotateEvent(r) => {
                    if !artificial {
                        self.file = r.name().to_string();
                        self.pos = r.position();
                    }
                }
                EventData::HeartbeatEvent => {
                    if !self.in_transaction {
                        return Ok(Some(Item::Heartbeat {
                            position: self.position(),
                        }));
                    }
                }
                EventData::QueryEvent(q) => {
                    advance(self);
                    let query = q.query().to_string();
                    let schema = q.schema().to_string();
                    let word = query
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    match word.as_str() {
                        "BEGIN" | "XA" | "SAVEPOINT" => {
                            if !self.in_transaction {
                                self.in_transaction = true;
                                return Ok(Some(Item::Begin { gtid: None }));
                            }
                        }
                        "COMMIT" => {
                            self.in_transaction = false;
                            return Ok(Some(Item::Commit {
                                next: self.position(),
                                timestamp: header.timestamp(),
                            }));
                        }
                        "ROLLBACK" => {
                            // A non-transactional engine's partial transaction; nothing to apply.
                            self.in_transaction = false;
                            return Ok(Some(Item::Commit {
                                next: self.position(),
                                timestamp: header.timestamp(),
                            }));
                        }
                        _ => {
                            self.in_transaction = false;
                            return Ok(Some(Item::Statement {
                                schema,
                                query,
                                next: self.position(),
                                timestamp: header.timestamp(),
                            }));
                        }
                    }
                }
                EventData::XidEvent(_) => {
                    advance(self);
                    self.in_transaction = false;
                    return Ok(Some(Item::Commit {
                        next: self.position(),
                        timestamp: header.timestamp(),
                    }));
                }
                EventData::RowsEvent(re) => {
                    advance(self);
                    let Some(tme) = self.stream.get_tme(re.table_id()) else {
                        return Err(Error::Db(format!(
                            "row event without its table map at {}",
                            self.position()
                        )));
                    };
                    let database = tme.database_name().to_string();
                    if database != self.database {
                        continue;
                    }
                    let table = tme.table_name().to_string();
                    let kind = match &re {
                        RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => RowKind::Insert,
                        RowsEventData::UpdateRowsEventV1(_) | RowsEventData::UpdateRowsEvent(_) => RowKind::Update,
                        RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => RowKind::Delete,
                        RowsEventData::PartialUpdateRowsEvent(_) => {
                            return Err(Error::Db("partial JSON updates (binlog_row_value_options=PARTIAL_JSON) are not supported: set it to ''".into()))
                        }
                    };
                    let mut rows = Vec::new();
                    for r in re.rows(tme) {
                        let (before, after) = r.map_err(|e| {
                            Error::Db(format!(
                                "cannot decode a row of {table} at {}: {e}",
                                self.position()
                            ))
                        })?;
                        let conv = |row: Option<mysql_async::binlog::row::BinlogRow>| -> Result<Option<Vec<Value>>> {
                            row.map(|row| {
                                row.unwrap()
                                    .into_iter()
                                    .map(|v| Value::try_from(v).map_err(|e| Error::Db(format!("binlog value of {table}: {e:?}"))))
                                    .collect()
                            })
                            .transpose()
                        };
                        rows.push(RowChange {
                            database: database.clone(),
                            table: table.clone(),
                            kind,
                            before: conv(before)?,
                            after: conv(after)?,
                        });
                    }
                    // One event may carry many rows: hand them out one by one.
                    self.pending.extend(rows);
                    if let Some(r) = self.pending.pop_front() {
                        return Ok(Some(Item::Row(r)));
                    }
                }
                _ => advance(self),
            }
        }
    }
}
