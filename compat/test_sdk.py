"""Every SDK method that maps to a Roster route, through the SDK's own models."""

import json

import pytest
from docusign_esign import (
    AccountsApi,
    CustomSettingsInformation,
    Group,
    GroupInformation,
    GroupsApi,
    NameValue,
    NewUsersDefinition,
    PermissionProfile,
    UserInfo,
    UserInfoList,
    UserInformation,
    UserInformationList,
    UserProfile,
    UserSettingsInformation,
    UsersApi,
)
from docusign_esign.client.api_exception import ApiException

from conftest import ADMIN_EMAIL


def error_code(exc):
    return json.loads(exc.body)["errorCode"]


def create(users, roster, *items):
    summary = users.create(roster.account_id, new_users_definition=NewUsersDefinition(new_users=list(items)))
    return summary.new_users


def test_account_information(roster):
    info = AccountsApi(roster.client()).get_account_information(roster.account_id)
    assert info.account_id_guid == roster.account_id
    assert info.account_name == "Roster"
    assert info.use_display_appliance is False  # a real boolean stays a boolean
    assert isinstance(info.can_upgrade, str) and info.can_upgrade == "false"


def test_create_list_get_update_and_close_users(roster):
    users = UsersApi(roster.client())
    created = create(
        users,
        roster,
        UserInformation(user_name="Ann Lee", email="ann@example.com", first_name="Ann"),
        UserInformation(user_name="Bad", email="not-an-email"),
        UserInformation(user_name="Ann Again", email="ann@example.com"),
    )
    assert created[0].error_details is None and created[0].user_status == "ActivationSent"
    assert created[1].error_details.error_code == "INVALID_EMAIL_ADDRESS_FOR_USER"
    assert created[2].error_details.error_code == "USER_ALREADY_EXISTS_IN_ACCOUNT"
    ann = created[0].user_id

    listed = users.list(roster.account_id, count="1", additional_info="true")
    assert listed.result_set_size == "1" and listed.total_set_size == "2"
    assert listed.next_uri.startswith(f"/accounts/")
    page2 = users.list(roster.account_id, count="1", start_position="1")
    assert page2.users[0].email == "ann@example.com"
    assert users.list(roster.account_id, email="ann@example.com").users[0].user_id == ann

    one = users.get_information(roster.account_id, ann)
    assert one.first_name == "Ann"
    assert one.is_admin == "false"  # string-typed booleans stay strings
    assert one.has_remote_notary is False  # the spec's real boolean
    assert one.user_settings.locale == "en"

    updated = users.update_user(roster.account_id, ann, user_information=UserInformation(job_title="CTO"))
    assert updated.job_title == "CTO" and updated.first_name == "Ann"

    bulk = users.update_users(
        roster.account_id,
        user_information_list=UserInformationList(
            users=[UserInformation(user_id=ann, company="Acme"), UserInformation(user_id="00000000-0000-0000-0000-000000000000", company="X")]
        ),
    )
    assert bulk.users[0].company == "Acme"
    assert bulk.users[1].error_details.error_code == "INVALID_USERID"

    closed = users.delete(roster.account_id, user_info_list=UserInfoList(users=[UserInfo(user_id=ann)]))
    assert closed.users[0].user_status == "Closed"


def test_failures_raise_api_exception_with_the_error_code(roster):
    users = UsersApi(roster.client())
    with pytest.raises(ApiException) as e:
        users.get_information(roster.account_id, "00000000-0000-0000-0000-000000000000")
    assert e.value.status == 400 and error_code(e.value) == "INVALID_USERID"
    with pytest.raises(ApiException) as e:
        users.list(roster.account_id, count="101")
    assert error_code(e.value) == "INVALID_REQUEST_PARAMETER"
    with pytest.raises(ApiException) as e:
        UsersApi(roster.client("not-a-token")).list(roster.account_id)
    assert e.value.status == 401 and error_code(e.value) == "AUTHORIZATION_INVALID_TOKEN"


def test_custom_settings_with_the_group_header(roster):
    client = roster.client()
    users = UsersApi(client)
    uid = roster.admin_id
    info = CustomSettingsInformation(custom_settings=[NameValue(name="color", value="blue")])
    users.update_custom_settings(roster.account_id, uid, custom_settings_information=info)
    client.set_default_header("X-DocuSign-User-Settings-Key", "ui")
    users.update_custom_settings(
        roster.account_id, uid, custom_settings_information=CustomSettingsInformation(custom_settings=[NameValue(name="theme", value="dark")])
    )
    grouped = users.list_custom_settings(roster.account_id, uid)
    assert [(s.name, s.value) for s in grouped.custom_settings] == [("theme", "dark")]
    users.delete_custom_settings(
        roster.account_id, uid, custom_settings_information=CustomSettingsInformation(custom_settings=[NameValue(name="theme")])
    )
    assert users.list_custom_settings(roster.account_id, uid).custom_settings == []
    del client.default_headers["X-DocuSign-User-Settings-Key"]
    ungrouped = users.list_custom_settings(roster.account_id, uid)
    assert [(s.name, s.value) for s in ungrouped.custom_settings] == [("color", "blue")]
    too_big = CustomSettingsInformation(custom_settings=[NameValue(name="big", value="x" * 4000)])
    with pytest.raises(ApiException) as e:
        users.update_custom_settings(roster.account_id, uid, custom_settings_information=too_big)
    assert error_code(e.value) == "CUSTOM_SETTINGS_SIZE_LIMIT_EXCEEDED"


def test_user_settings_round_trip_through_the_model(roster):
    users = UsersApi(roster.client())
    uid = roster.admin_id
    settings = users.get_settings(roster.account_id, uid)
    assert settings.locale == "en" and settings.can_send_envelope == "true"
    assert settings.locale_metadata.rights == "editable"
    # The SDK sends back what it read plus a change; Roster takes it whole.
    settings.locale = "fr"
    users.update_settings(roster.account_id, uid, user_settings_information=settings)
    assert users.get_settings(roster.account_id, uid).locale == "fr"
    users.update_settings(roster.account_id, uid, user_settings_information=UserSettingsInformation(timezone_offset="tz_37_gmt"))
    again = users.get_settings(roster.account_id, uid)
    assert again.timezone_offset == "tz_37_gmt" and again.locale == "fr"
    with pytest.raises(ApiException) as e:
        users.update_settings(roster.account_id, uid, user_settings_information=UserSettingsInformation(locale="xx"))
    assert error_code(e.value) == "INVALID_REQUEST_PARAMETER"


def test_profile(roster):
    users = UsersApi(roster.client())
    uid = roster.admin_id
    profile = users.get_profile(roster.account_id, uid)
    assert profile.user_details.email == ADMIN_EMAIL
    users.update_profile(roster.account_id, uid, user_profile=UserProfile(company_name="Acme", display_profile="false"))
    profile = users.get_profile(roster.account_id, uid)
    assert profile.company_name == "Acme" and profile.display_profile == "false"


def test_permission_profiles(roster):
    accounts = AccountsApi(roster.client())
    listed = accounts.list_permissions(roster.account_id, include="user_count,metadata")
    names = [p.permission_profile_name for p in listed.permission_profiles]
    assert names == ["Account Administrator", "DocuSign Sender", "DocuSign Viewer"]
    assert listed.permission_profiles[0].user_count == "1"
    created = accounts.create_permission_profile(
        roster.account_id, permission_profile=PermissionProfile(permission_profile_name="Auditors", settings={"allowBulkSending": "true"})
    )
    pid = created.permission_profile_id
    got = accounts.get_permission_profile(roster.account_id, pid)
    assert got.settings.allow_bulk_sending == "true"
    updated = accounts.update_permission_profile(
        roster.account_id, pid, permission_profile=PermissionProfile(settings={"allowedTemplateAccess": "use"}), include="metadata"
    )
    assert updated.settings.allowed_template_access == "use" and updated.settings.allow_bulk_sending == "true"
    accounts.delete_permission_profile(roster.account_id, pid)
    with pytest.raises(ApiException) as e:
        accounts.get_permission_profile(roster.account_id, pid)
    assert error_code(e.value) == "PERMISSION_PROFILE_DOES_NOT_EXIST"
    with pytest.raises(ApiException) as e:
        accounts.delete_permission_profile(roster.account_id, listed.permission_profiles[2].permission_profile_id)
    assert error_code(e.value) == "CANNOT_CHANGE_BUILT_IN"


def test_groups_and_group_users(roster):
    groups = GroupsApi(roster.client())
    users = UsersApi(roster.client())
    ann = create(users, roster, UserInformation(user_name="Ann", email="ann@example.com"))[0].user_id
    created = groups.create_groups(roster.account_id, group_information=GroupInformation(groups=[Group(group_name="Sales"), Group(group_name="Sales")]))
    assert created.groups[1].error_details.error_code == "GROUP_NAME_EXISTS"
    gid = created.groups[0].group_id
    listed = groups.list_groups(roster.account_id)
    assert [g.group_name for g in listed.groups] == ["Everyone", "Administrators", "Sales"]
    assert listed.groups[0].users_count == "2"
    groups.update_groups(roster.account_id, group_information=GroupInformation(groups=[Group(group_id=gid, group_name="Sales EMEA")]))
    added = groups.update_group_users(roster.account_id, gid, user_info_list=UserInfoList(users=[UserInfo(user_id=ann)]))
    assert added.users[0].user_id == ann
    members = groups.list_group_users(roster.account_id, gid)
    assert members.total_set_size == "1" and members.users[0].email == "ann@example.com"
    groups.delete_group_users(roster.account_id, gid, user_info_list=UserInfoList(users=[UserInfo(user_id=ann)]))
    assert groups.list_group_users(roster.account_id, gid).users == []
    deleted = groups.delete_groups(roster.account_id, group_information=GroupInformation(groups=[Group(group_id=gid)]))
    assert deleted.groups[0].error_details is None
    assert [g.group_name for g in groups.list_groups(roster.account_id).groups] == ["Everyone", "Administrators"]
