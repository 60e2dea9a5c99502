//! Human-readable output: aligned tables and dates.

use api::Tag;

/// Renders rows under headers as left-aligned columns separated by two spaces.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A tag as the CLI writes it: `k=v` (STRING) or `k:=n` (LONG).
pub fn tag(t: &Tag) -> String {
    match t.value_type {
        api::TagType::String => format!("{}={}", t.key, t.value),
        api::TagType::Long => format!("{}:={}", t.key, t.value),
    }
}

/// The user tags (not `owner`, not `creation-date`), comma-separated.
pub fn user_tags(tags: &[Tag]) -> String {
    tags.iter()
        .filter(|t| t.key != "owner" && t.key != "creation-date")
        .map(tag)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let t = table(
            &["id", "len"],
            &[
                vec!["a".into(), "1".into()],
                vec!["bbbb".into(), "22".into()],
            ],
        );
        assert_eq!(t, "id    len\na     1\nbbbb  22\n");
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(utc(1_718_454_896_789), "2024-06-15 12:34:56");
    }

    #[test]
    fn tags_print_as_written() {
        let tags = vec![
            Tag::string("owner", "a"),
            Tag::string("k", "v"),
            Tag::long("n", 7),
        ];
        assert_eq!(user_tags(&tags), "k=v, n:=7");
    }
}
