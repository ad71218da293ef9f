//! Custom user settings: free name/value pairs, optionally in named groups,
//! with one size limit over all of a user's groups together.

use serde::{Deserialize, Serialize};

use crate::Error;

/// The limit DocuSign documents for all custom settings of one user.
pub const CUSTOM_SETTINGS_LIMIT: usize = 4000;
/// Longest group name (the `X-DocuSign-User-Settings-Key` header).
pub const GROUP_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomSetting {
    pub name: String,
    pub value: String,
}

/// The size that counts against [`CUSTOM_SETTINGS_LIMIT`]: the characters of
/// the compact JSON array of every setting, all groups together:
/// `[{"name":"color","value":"blue"},...]`.
pub fn custom_settings_size<'a>(all: impl IntoIterator<Item = &'a CustomSetting>) -> usize {
    let all: Vec<&CustomSetting> = all.into_iter().collect();
    serde_json::to_string(&all).expect("strings serialize").chars().count()
}

/// Refuses a set of settings over the limit, saying the size it would reach.
pub fn check_size<'a>(all: impl IntoIterator<Item = &'a CustomSetting>) -> Result<(), Error> {
    let size = custom_settings_size(all);
    if size > CUSTOM_SETTINGS_LIMIT {
        return Err(Error::CustomSettingsTooLarge { size, limit: CUSTOM_SETTINGS_LIMIT });
    }
    Ok(())
}

/// A group name from the header: empty means the ungrouped set.
pub fn group_key(raw: Option<&str>) -> Result<String, Error> {
    let g = raw.unwrap_or_default().trim();
    if g.chars().count() > GROUP_MAX {
        return Err(Error::invalid("X-DocuSign-User-Settings-Key", format!("is longer than {GROUP_MAX} characters")));
    }
    if g.chars().any(char::is_control) {
        return Err(Error::invalid("X-DocuSign-User-Settings-Key", "must not contain control characters"));
    }
    Ok(g.to_owned())
}

/// Each name's last mention in `changes`, in the order of those mentions:
/// what a change that gives a name twice means (one stored row per name).
pub fn last_of_each_name(changes: &[CustomSetting]) -> impl Iterator<Item = &CustomSetting> {
    changes
        .iter()
        .enumerate()
        .filter(|(i, c)| !changes[i + 1..].iter().any(|later| later.name == c.name))
        .map(|(_, c)| c)
}

/// Merges `changes` into `current` by name: updates in place, appends new
/// ones, as the store leaves them (see [`last_of_each_name`]).
pub fn merge(current: &mut Vec<CustomSetting>, changes: &[CustomSetting]) {
    for c in last_of_each_name(changes) {
        match current.iter_mut().find(|s| s.name == c.name) {
            Some(s) => s.value.clone_from(&c.value),
            None => current.push(c.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, value: &str) -> CustomSetting {
        CustomSetting { name: name.into(), value: value.into() }
    }

    #[test]
    fn size_is_the_json_text_of_all_settings() {
        assert_eq!(custom_settings_size(&[]), 2);
        assert_eq!(custom_settings_size(&[s("a", "b")]), r#"[{"name":"a","value":"b"}]"#.len());
        assert_eq!(custom_settings_size(&[s("é", "\"")]), r#"[{"name":"é","value":"\""}]"#.chars().count());
    }

    #[test]
    fn merge_updates_by_name_and_keeps_order() {
        let mut cur = vec![s("a", "1"), s("b", "2")];
        merge(&mut cur, &[s("b", "3"), s("c", "4")]);
        assert_eq!(cur, vec![s("a", "1"), s("b", "3"), s("c", "4")]);
    }

    #[test]
    fn a_name_given_twice_keeps_its_last_value_and_place() {
        let mut cur = vec![s("a", "1")];
        merge(&mut cur, &[s("b", "2"), s("c", "3"), s("b", "4"), s("a", "5")]);
        assert_eq!(cur, vec![s("a", "5"), s("c", "3"), s("b", "4")]);
    }

    #[test]
    fn the_limit_is_inclusive() {
        let overhead = custom_settings_size(&[s("n", "")]);
        let at = s("n", &"x".repeat(CUSTOM_SETTINGS_LIMIT - overhead));
        assert!(check_size([&at]).is_ok());
        let over = s("n", &"x".repeat(CUSTOM_SETTINGS_LIMIT - overhead + 1));
        assert_eq!(check_size([&over]), Err(Error::CustomSettingsTooLarge { size: 4001, limit: 4000 }));
    }
}
