//! `GET /accounts/{accountId}`.

use axum::Json;
use serde::Serialize;

use super::wire::{ds_date, flag};
use crate::error::DocuSignErrors;
use crate::extract::InAccount;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountInformation {
    account_id: String,
    account_id_guid: String,
    account_name: String,
    created_date: String,
    plan_name: &'static str,
    can_upgrade: String,
    is_downgrade: String,
    /// One of the spec's few real booleans.
    use_display_appliance: bool,
}

/// Any member may read its account's information.
#[utoipa::path(get, path = "/accounts/{accountId}", tag = "DocuSign", params(("accountId" = String, Path, description = "The account number or GUID")), responses((status = 200, body = AccountInformation), DocuSignErrors), security(("bearer" = [])))]
pub async fn get_account(ctx: InAccount) -> Json<AccountInformation> {
    let a = ctx.account;
    Json(AccountInformation {
        account_id: a.id.to_string(),
        account_id_guid: a.guid.to_string(),
        account_name: a.name,
        created_date: ds_date(a.created_at),
        plan_name: "Roster",
        can_upgrade: flag(false),
        is_downgrade: flag(false),
        use_display_appliance: false,
    })
}
