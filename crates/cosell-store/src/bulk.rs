//! Multi-row inserts for the tables that grow with traffic (touchpoints, conversions,
//! attribution, journal, statements), written without sea-orm's query builder.
//!
//! PostgreSQL gets a chunk of rows as one JSON parameter that `json_populate_recordset`
//! expands with the table's own column types: one parameter and one cached plan whatever
//! the row count. A `VALUES` list of 10,000 parameters is planned again on each call and
//! costs tens of milliseconds per thousand rows.
//!
//! SQLite gets `VALUES` lists of a fixed number of rows, so a bulk load reuses one
//! prepared statement from sqlx's cache instead of rendering and parsing a new query of
//! 30,000 placeholders per chunk.

use std::fmt::Write as _;

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait, Iden, Iterable,
    Statement, Value,
};

/// Bind parameters per SQLite statement: below its limit of 32,766.
const MAX_PARAMS: usize = 30_000;

/// Rows per PostgreSQL statement: one JSON document of a few megabytes.
const PG_ROWS: usize = 5_000;

/// Inserts `rows`, failing on any constraint violation.
pub(crate) async fn insert_all<A, C>(db: &C, rows: Vec<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait,
    C: ConnectionTrait,
{
    insert(db, rows, None).await.map(|_| ())
}

/// Inserts `rows`, skipping those whose `key` columns match a stored row (or an earlier
/// row of the same call), and answers how many it inserted. Which ones is not answered:
/// a `RETURNING` row per inserted row cost a bulk load of touchpoints over a quarter of its
/// time, and a caller that needs to know asks only when some were skipped.
pub(crate) async fn insert_new<A, C>(
    db: &C,
    rows: Vec<A>,
    key: &[<A::Entity as EntityTrait>::Column],
) -> Result<u64, DbErr>
where
    A: ActiveModelTrait,
    C: ConnectionTrait,
{
    let key: Vec<String> = key.iter().map(Iden::to_string).collect();
    insert(db, rows, Some(&key)).await
}

async fn insert<A, C>(db: &C, rows: Vec<A>, key: Option<&[String]>) -> Result<u64, DbErr>
where
    A: ActiveModelTrait,
    C: ConnectionTrait,
{
    let table = <A::Entity as Default>::default().table_name().to_owned();
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter().collect();
    let names: Vec<String> = columns.iter().map(Iden::to_string).collect();
    let backend = db.get_database_backend();
    let per_statement = match backend {
        DbBackend::Postgres => PG_ROWS,
        _ => (MAX_PARAMS / names.len().max(1)).max(1),
    };
    let mut inserted = 0;
    let mut left = rows.len();
    let mut rows = rows.into_iter();
    while left > 0 {
        let take = statement_rows(backend, left, per_statement);
        left -= take;
        let mut values = Vec::with_capacity(take * names.len());
        let mut count = 0;
        for mut row in rows.by_ref().take(take) {
            for c in &columns {
                values.push(row.take(*c).into_value().ok_or_else(|| {
                    DbErr::Custom(format!("{table}.{} is not set for insert", c.to_string()))
                })?);
            }
            count += 1;
        }
        let statement = match backend {
            DbBackend::Postgres => postgres(&table, &names, count, &values, key)?,
            _ => sqlite(backend, &table, &names, count, values, key),
        };
        inserted += db.execute_raw(statement).await?.rows_affected();
    }
    Ok(inserted)
}

/// Rows in the next statement when `left` remain. SQLite statements are full, or the
/// largest power of two that fits: the SQL of a statement depends on its row count, and
/// sqlx's per-connection cache reuses a prepared statement only for the same SQL, so
/// remainders of any size would each be parsed and planned anew (a stream of small batches,
/// such as the impressions writer's, would prepare nearly every statement it runs).
fn statement_rows(backend: DbBackend, left: usize, per_statement: usize) -> usize {
    match backend {
        DbBackend::Postgres => left.min(per_statement),
        _ if left >= per_statement => per_statement,
        _ => 1 << left.ilog2(),
    }
}

fn quoted(names: &[String]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    list.join(", ")
}

/// `ON CONFLICT (key) DO NOTHING`, when a key is given.
fn conflict_clause(key: Option<&[String]>) -> String {
    key.map(|k| format!(" ON CONFLICT ({}) DO NOTHING", quoted(k)))
        .unwrap_or_default()
}

fn sqlite(
    backend: DbBackend,
    table: &str,
    names: &[String],
    rows: usize,
    values: Vec<Value>,
    key: Option<&[String]>,
) -> Statement {
    let one = format!("({})", vec!["?"; names.len()].join(","));
    let mut sql = format!("INSERT INTO \"{table}\" ({}) VALUES ", quoted(names));
    for n in 0..rows {
        if n > 0 {
            sql.push(',');
        }
        sql.push_str(&one);
    }
    sql.push_str(&conflict_clause(key));
    Statement::from_sql_and_values(backend, sql, values)
}

fn postgres(
    table: &str,
    names: &[String],
    rows: usize,
    values: &[Value],
    key: Option<&[String]>,
) -> Result<Statement, DbErr> {
    let mut json = String::with_capacity(rows * names.len() * 24);
    json.push('[');
    for (n, row) in values.chunks(names.len()).enumerate() {
        json.push_str(if n == 0 { "{" } else { ",{" });
        for (i, (name, value)) in names.iter().zip(row).enumerate() {
            if i > 0 {
                json.push(',');
            }
            let _ = write!(json, "\"{name}\":");
            push_json(&mut json, value)?;
        }
        json.push('}');
    }
    json.push(']');
    let list = quoted(names);
    let sql = format!(
        "INSERT INTO \"{table}\" ({list}) SELECT {list} FROM json_populate_recordset(NULL::\"{table}\", $1::json){}",
        conflict_clause(key)
    );
    Ok(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [Value::from(json)],
    ))
}

/// Writes `value` as JSON text the column type's input function reads back exactly.
fn push_json(out: &mut String, value: &Value) -> Result<(), DbErr> {
    fn text(out: &mut String, s: &str) {
        // Serialising a &str to a String cannot fail.
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
    match value {
        Value::Bool(Some(b)) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        Value::String(Some(s)) => text(out, s),
        Value::Uuid(Some(u)) => {
            let _ = write!(out, "\"{u}\"");
        }
        Value::ChronoDateTimeUtc(Some(t)) => {
            let _ = write!(
                out,
                "\"{}\"",
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            );
        }
        Value::ChronoDate(Some(d)) => {
            let _ = write!(out, "\"{d}\"");
        }
        Value::Bool(None)
        | Value::Int(None)
        | Value::BigInt(None)
        | Value::String(None)
        | Value::Uuid(None)
        | Value::ChronoDateTimeUtc(None)
        | Value::ChronoDate(None) => out.push_str("null"),
        other => {
            return Err(DbErr::Custom(format!(
                "bulk insert cannot write {other:?} as JSON"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(backend: DbBackend, mut left: usize, per_statement: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        while left > 0 {
            let take = statement_rows(backend, left, per_statement);
            sizes.push(take);
            left -= take;
        }
        sizes
    }

    #[test]
    fn sqlite_statements_are_full_or_a_power_of_two_and_cover_every_row() {
        assert_eq!(
            split(DbBackend::Sqlite, 10_000, 4_285),
            [4_285, 4_285, 1_024, 256, 128, 16, 4, 2]
        );
        assert_eq!(split(DbBackend::Sqlite, 1, 4_285), [1]);
        assert_eq!(
            split(DbBackend::Postgres, 12_000, 5_000),
            [5_000, 5_000, 2_000]
        );
    }
}
