//! Settlement runs (operators), statements as JSON or CSV, and marking them paid.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use cosell_core::settlement::{ItemKind, SettlementPolicy, parse_minimum_payout, period_to_settle};
use cosell_store::settlement::StatementRecord;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use crate::auth::Caller;
use crate::csv_text::text_cell;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettlementIn {
    /// The period's last day: commissions payable and clawbacks open by its end are settled.
    /// It must have ended: yesterday (UTC) at the latest, which is also the default.
    #[serde(default, deserialize_with = "crate::days::optional_day")]
    pub as_of: Option<NaiveDate>,
    /// Smallest net paid per currency, e.g. `{"EUR": "50.00"}`; smaller nets carry forward.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub minimum_payout: BTreeMap<String, Decimal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementLineDto {
    /// commission (positive) or clawback (negative).
    pub kind: String,
    pub accrual_id: uuid::Uuid,
    pub conversion_id: Option<uuid::Uuid>,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementDto {
    pub id: uuid::Uuid,
    pub period_end: NaiveDate,
    pub payer_id: uuid::Uuid,
    pub payee_id: uuid::Uuid,
    pub currency: String,
    #[schema(value_type = String)]
    pub commission: Decimal,
    #[schema(value_type = String)]
    pub clawback: Decimal,
    #[schema(value_type = String)]
    pub net: Decimal,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub paid_reference: Option<String>,
    pub lines: Vec<StatementLineDto>,
}

fn kind_name(k: ItemKind) -> &'static str {
    match k {
        ItemKind::Commission => "commission",
        ItemKind::Clawback => "clawback",
    }
}

impl From<StatementRecord> for StatementDto {
    fn from(s: StatementRecord) -> Self {
        let c = s.key.currency;
        StatementDto {
            id: s.id,
            period_end: s.key.period_end,
            payer_id: s.key.payer.0,
            payee_id: s.key.payee.0,
            currency: c.code().to_owned(),
            commission: c.from_minor(s.commission_minor),
            clawback: c.from_minor(s.clawback_minor),
            net: c.from_minor(s.net_minor),
            created_at: s.created_at,
            paid_at: s.paid_at,
            paid_reference: s.paid_reference,
            lines: s
                .lines
                .into_iter()
                .map(|l| StatementLineDto {
                    kind: kind_name(l.kind).to_owned(),
                    accrual_id: l.accrual_id,
                    conversion_id: l.conversion_id,
                    amount: c.from_minor(l.amount_minor),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CarriedDto {
    pub payer_id: uuid::Uuid,
    pub payee_id: uuid::Uuid,
    pub currency: String,
    #[schema(value_type = String)]
    pub net: Decimal,
    /// below_minimum or negative_net.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementDto {
    pub period_end: NaiveDate,
    /// Commissions whose hold ended and became payable in this run.
    pub released: usize,
    /// Statements written by this run; 0 when the period was settled already.
    pub created: usize,
    /// Every statement of the period.
    pub statements: Vec<StatementDto>,
    pub carried_forward: Vec<CarriedDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    /// Only statements of this period end.
    #[serde(default, deserialize_with = "crate::days::optional_day")]
    pub period_end: Option<NaiveDate>,
    /// `csv` for one row per statement line (or send `Accept: text/csv`).
    pub format: Option<String>,
}

/// How one statement is answered, as the list answers (`Accept: text/csv` works too).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    /// `csv` for one row per statement line (or send `Accept: text/csv`).
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaidIn {
    /// The payment's reference outside Cosell (bank transfer id, …).
    pub reference: String,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(run_settlement))
        .routes(routes!(list_statements))
        .routes(routes!(get_statement))
        .routes(routes!(mark_statement_paid))
}

/// Run settlement for the period ending `as_of` (operators), a day that has ended (422
/// otherwise; without `as_of`, yesterday). Running it again changes
/// nothing; runs started at once, for the same or different periods, pay each
/// commission once. A period before the latest run's is closed: 409 `period_closed`.
#[utoipa::path(post, path = "/v1/settlements", operation_id = "run_settlement", tag = "settlement",
    request_body = SettlementIn, security(("bearer" = [])),
    responses((status = 200, body = SettlementDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn run_settlement(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<SettlementIn>,
) -> Result<Json<SettlementDto>, ApiError> {
    caller.require_operator()?;
    let mut errors = cosell_core::ValidationErrors::default();
    let as_of = period_to_settle(body.as_of, state.config().clock.today());
    if let Err(e) = &as_of {
        errors.push(e.field.clone(), e.message.clone());
    }
    let mut policy = SettlementPolicy::default();
    for (code, amount) in &body.minimum_payout {
        if let Some((c, m)) = errors.take(parse_minimum_payout(code, *amount)) {
            policy.minimum_payout_minor.insert(c, m);
        }
    }
    errors.into_result()?;
    // Refused above with the other fields' errors when it is an error.
    let as_of = as_of.map_err(cosell_core::ValidationErrors::from)?;
    let outcome = state.store().run_settlement(as_of, &policy).await?;
    Ok(Json(SettlementDto {
        period_end: outcome.period_end,
        released: outcome.released,
        created: outcome.created,
        statements: outcome
            .statements
            .into_iter()
            .map(StatementDto::from)
            .collect(),
        carried_forward: outcome
            .carried_forward
            .into_iter()
            .map(|c| CarriedDto {
                payer_id: c.key.payer.0,
                payee_id: c.key.payee.0,
                currency: c.key.currency.code().to_owned(),
                net: c.key.currency.from_minor(c.net_minor),
                reason: serde_json::to_value(c.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            })
            .collect(),
    }))
}

/// Whether to answer CSV: `format=csv` or `Accept: text/csv`; a `format` other than
/// `json` or `csv` is refused.
fn wants_csv(format: Option<&str>, headers: &HeaderMap) -> Result<bool, ApiError> {
    if format.is_some_and(|f| f != "csv" && f != "json") {
        return Err(ApiError::bad_request("format must be json or csv"));
    }
    Ok(format == Some("csv")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv")))
}

/// `body` as a CSV answer.
fn csv_response(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// One row per statement line; a statement without lines is not possible. The payment
/// reference is the payer's text, so it goes out as a `text_cell`; the other columns are
/// ids, dates, codes and amounts the API writes itself.
fn to_csv(statements: &[StatementDto]) -> Result<String, ApiError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_error = |_| ApiError::internal();
    out.write_record([
        "statement_id",
        "period_end",
        "payer_id",
        "payee_id",
        "currency",
        "kind",
        "accrual_id",
        "conversion_id",
        "amount",
        "statement_net",
        "paid_reference",
    ])
    .map_err(csv_error)?;
    for s in statements {
        for l in &s.lines {
            out.write_record([
                s.id.to_string(),
                s.period_end.to_string(),
                s.payer_id.to_string(),
                s.payee_id.to_string(),
                s.currency.clone(),
                l.kind.clone(),
                l.accrual_id.to_string(),
                l.conversion_id.map(|c| c.to_string()).unwrap_or_default(),
                l.amount.to_string(),
                s.net.to_string(),
                text_cell(s.paid_reference.as_deref().unwrap_or_default()).into_owned(),
            ])
            .map_err(csv_error)?;
        }
    }
    let bytes = out.into_inner().map_err(|_| ApiError::internal())?;
    String::from_utf8(bytes).map_err(|_| ApiError::internal())
}

/// Statements the caller pays or receives (operators: all), as JSON or CSV.
#[utoipa::path(get, path = "/v1/statements", operation_id = "list_statements", tag = "settlement",
    params(StatementQuery), security(("bearer" = [])),
    responses((status = 200, content((Listed<StatementDto> = "application/json"), (String = "text/csv"))),
        (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_statements(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(q): AppQuery<StatementQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let csv = wants_csv(q.format.as_deref(), &headers)?;
    let items: Vec<StatementDto> = state
        .store()
        .list_statements(caller.tenant(), q.period_end)
        .await?
        .into_iter()
        .map(StatementDto::from)
        .collect();
    if csv {
        return Ok(csv_response(to_csv(&items)?));
    }
    Ok(Json(Listed { items }).into_response())
}

/// One statement the caller pays or receives, as JSON or, like the list, CSV.
#[utoipa::path(get, path = "/v1/statements/{id}", operation_id = "get_statement", tag = "settlement",
    params(("id" = uuid::Uuid, Path), FormatQuery), security(("bearer" = [])),
    responses((status = 200, content((StatementDto = "application/json"), (String = "text/csv"))),
        (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_statement(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<uuid::Uuid>,
    AppQuery(q): AppQuery<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let csv = wants_csv(q.format.as_deref(), &headers)?;
    let statement = StatementDto::from(state.store().get_statement(caller.tenant(), id).await?);
    if csv {
        return Ok(csv_response(to_csv(std::slice::from_ref(&statement))?));
    }
    Ok(Json(statement).into_response())
}

/// Mark a statement paid (its payer or an operator), with the payment's reference.
/// A paid statement never changes again.
#[utoipa::path(post, path = "/v1/statements/{id}/paid", operation_id = "mark_statement_paid", tag = "settlement",
    params(("id" = uuid::Uuid, Path)), request_body = PaidIn, security(("bearer" = [])),
    responses((status = 200, body = StatementDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn mark_statement_paid(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<uuid::Uuid>,
    AppJson(body): AppJson<PaidIn>,
) -> Result<Json<StatementDto>, ApiError> {
    let reference = cosell_core::catalog::parse_text("reference", &body.reference, 200)
        .map_err(cosell_core::ValidationErrors::from)?;
    Ok(Json(
        state
            .store()
            .mark_statement_paid(caller.tenant(), id, reference)
            .await?
            .into(),
    ))
}
