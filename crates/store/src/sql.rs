//! SQL helpers both databases share.
use dialout_model::state::State;
use jiff::Timestamp;

/// The states of unpublished messages as an SQL list, `(-1, 99)`: the partial indexes of
/// both schemas were made with this list, and a query must say the same to use them.
pub fn unpublished_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let codes: Vec<String> = State::ALL
            .iter()
            .filter(|s| s.is_unpublished())
            .map(|s| s.code().to_string())
            .collect();
        format!("({})", codes.join(", "))
    });
    &SQL
}

/// Times are kept to the microsecond in both databases.
pub fn micros(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpublished_states_as_the_indexes_list_them() {
        assert_eq!(unpublished_sql(), "(-1, 99)");
    }
}
