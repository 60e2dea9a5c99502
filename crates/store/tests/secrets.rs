//! The secret store: round trips, tag rules, filters, paging, persistence.

mod common;

use common::{counting_shares, random_shares};
use store::secret::{validate_tags, CREATION_DATE_TAG, OWNER_TAG};
use store::{
    ErrorClass, ListQuery, NewSecret, RedbSecretStore, RedbTupleStore, SecretError, SecretId,
    SecretStore, Tag, TagFilter, TagType, TupleError,
};

fn open() -> (tempfile::TempDir, RedbSecretStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = RedbSecretStore::open(dir.path().join("secrets.redb")).unwrap();
    (dir, s)
}

#[test]
fn create_get_delete_round_trip() {
    let (_dir, s) = open();
    let id = SecretId::random();
    let shares = random_shares(1, 1000);
    let meta = s
        .create(
            NewSecret::new(id, "alice", shares.clone())
                .tag(Tag::string("purpose", "bid"))
                .tag(Tag::long("round", 3)),
        )
        .unwrap();
    assert_eq!(meta.len, 1000);
    assert_eq!(meta.owner, "alice");
    let got = s.get(id).unwrap();
    assert_eq!(got.shares, shares);
    assert_eq!(got.meta, meta);
    assert_eq!(
        got.meta.tags,
        vec![Tag::string("purpose", "bid"), Tag::long("round", 3)]
    );
    assert_eq!(s.get_meta(id).unwrap(), meta);
    assert_eq!(s.count().unwrap(), 1);
    // Debug never shows shares.
    let dbg = format!("{got:?}");
    assert!(dbg.contains("redacted"), "{dbg}");

    s.delete(id).unwrap();
    assert!(matches!(s.get(id), Err(SecretError::UnknownSecret { id: x }) if x == id));
    assert!(matches!(
        s.delete(id),
        Err(SecretError::UnknownSecret { .. })
    ));
    assert_eq!(s.count().unwrap(), 0);
    assert_eq!(s.list(&ListQuery::all()).unwrap().total_items, 0);
    // The index forgot it too.
    let hits = s
        .list(&ListQuery::all().filter(TagFilter::eq("purpose", "bid")))
        .unwrap();
    assert_eq!(hits.total_items, 0);
}

#[test]
fn create_refuses_an_existing_id_and_keeps_the_first() {
    let (_dir, s) = open();
    let id = SecretId::random();
    s.create(NewSecret::new(id, "alice", counting_shares(1, 3)))
        .unwrap();
    let e = s
        .create(NewSecret::new(id, "mallory", counting_shares(100, 5)))
        .unwrap_err();
    assert!(matches!(e, SecretError::SecretExists { .. }), "{e}");
    assert_eq!(e.class(), ErrorClass::Conflict);
    let got = s.get(id).unwrap();
    assert_eq!(got.meta.owner, "alice");
    assert_eq!(got.shares, counting_shares(1, 3));
}

#[test]
fn create_many_is_all_or_nothing() {
    let (_dir, s) = open();
    let taken = SecretId::random();
    s.create(NewSecret::new(taken, "o", counting_shares(0, 1)))
        .unwrap();
    let fresh: Vec<SecretId> = (0..3).map(|_| SecretId::random()).collect();
    let batch = |last: SecretId| {
        let mut v: Vec<NewSecret> = fresh
            .iter()
            .map(|id| NewSecret::new(*id, "o", counting_shares(1, 2)))
            .collect();
        v.push(NewSecret::new(last, "o", counting_shares(1, 2)));
        v
    };
    // The last one clashes with a stored secret, then with one of the batch itself.
    assert!(matches!(
        s.create_many(batch(taken)),
        Err(SecretError::SecretExists { id }) if id == taken
    ));
    assert!(matches!(
        s.create_many(batch(fresh[0])),
        Err(SecretError::SecretExists { .. })
    ));
    assert_eq!(s.count().unwrap(), 1);
    for id in &fresh {
        assert!(matches!(s.get(*id), Err(SecretError::UnknownSecret { .. })));
    }
    let metas = s.create_many(batch(SecretId::random())).unwrap();
    assert_eq!(metas.len(), 4);
    assert_eq!(s.count().unwrap(), 5);
}

#[test]
fn get_many_reads_in_order_and_fails_on_unknown() {
    let (_dir, s) = open();
    let ids: Vec<SecretId> = (0..3).map(|_| SecretId::random()).collect();
    for (i, id) in ids.iter().enumerate() {
        s.create(NewSecret::new(*id, "o", counting_shares(i as u64 * 10, 2)))
            .unwrap();
    }
    let got = s.get_many(&[ids[2], ids[0]]).unwrap();
    assert_eq!(got[0].shares, counting_shares(20, 2));
    assert_eq!(got[1].shares, counting_shares(0, 2));
    assert!(matches!(
        s.get_many(&[ids[1], SecretId::random()]),
        Err(SecretError::UnknownSecret { .. })
    ));
}

#[test]
fn invalid_input_is_refused_with_a_clear_error_and_stores_nothing() {
    let (_dir, s) = open();
    let id = SecretId::random();
    let sh = || counting_shares(0, 2);
    let cases: Vec<(NewSecret, &str)> = vec![
        (
            NewSecret::new(id, "o", sh()).tag(Tag::string("bad key", "v")),
            "is invalid",
        ),
        (
            NewSecret::new(id, "o", sh()).tag(Tag::string("", "v")),
            "empty",
        ),
        (
            NewSecret::new(id, "o", sh()).tag(Tag::string("k".repeat(129), "v")),
            "longer than 128",
        ),
        (
            NewSecret::new(id, "o", sh()).tag(Tag::string("ключ", "v")),
            "is invalid",
        ),
        (
            NewSecret::new(id, "o", sh()).tag(Tag::string("k", "v".repeat(257))),
            "at most 256",
        ),
        (
            NewSecret::new(id, "o", sh()).tag(Tag {
                key: "n".into(),
                value: "12x".into(),
                value_type: TagType::Long,
            }),
            "not a 64-bit integer",
        ),
        (
            NewSecret::new(id, "o", sh()).tag(Tag {
                key: "n".into(),
                value: "99999999999999999999".into(),
                value_type: TagType::Long,
            }),
            "not a 64-bit integer",
        ),
        (
            NewSecret::new(id, "o", sh()).tag(Tag::string("owner", "mallory")),
            "reserved",
        ),
        (
            NewSecret::new(id, "o", sh()).tag(Tag::long("creation-date", 1)),
            "reserved",
        ),
        (
            NewSecret::new(id, "o", sh())
                .tag(Tag::string("k", "1"))
                .tag(Tag::string("k", "2")),
            "given twice",
        ),
        (NewSecret::new(id, "", sh()), "owner"),
        (
            NewSecret::new(id, "o", protocol::ShareVec::default()),
            "no values",
        ),
    ];
    for (secret, needle) in cases {
        let e = s.create(secret).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Invalid, "{e}");
        assert!(e.to_string().contains(needle), "{e:?} lacks {needle:?}");
    }
    let many: Vec<Tag> = (0..129).map(|i| Tag::long(format!("t{i}"), i)).collect();
    let mut n = NewSecret::new(id, "o", sh());
    n.tags = many;
    assert!(matches!(
        s.create(n),
        Err(SecretError::TooManyTags { count: 129 })
    ));
    assert_eq!(s.count().unwrap(), 0);
    assert!(matches!(s.get(id), Err(SecretError::UnknownSecret { .. })));
}

#[test]
fn tag_keys_accept_the_documented_alphabet_and_long_values_are_canonical() {
    let tags = validate_tags(&[
        Tag::string("a-b.c_D9", "any value, with spaces ✓"),
        Tag {
            key: "n".into(),
            value: "+007".into(),
            value_type: TagType::Long,
        },
        Tag::long("min", i64::MIN),
    ])
    .unwrap();
    assert_eq!(tags[0].key, "a-b.c_D9");
    assert_eq!(tags[1], Tag::long("min", i64::MIN));
    assert_eq!(tags[2].value, "7");
    assert_eq!(tags[2].as_long(), Some(7));
}

#[test]
fn single_tag_operations() {
    let (_dir, s) = open();
    let id = SecretId::random();
    let meta = s
        .create(NewSecret::new(id, "alice", counting_shares(0, 1)).tag(Tag::long("round", 1)))
        .unwrap();

    // Reserved tags can be read, not written.
    assert_eq!(
        s.get_tag(id, OWNER_TAG).unwrap(),
        Tag::string("owner", "alice")
    );
    assert_eq!(
        s.get_tag(id, CREATION_DATE_TAG).unwrap().as_long(),
        Some(meta.created_at_ms as i64)
    );
    assert!(matches!(
        s.set_tag(id, Tag::string("owner", "mallory")),
        Err(SecretError::ReservedTagKey { .. })
    ));
    assert!(matches!(
        s.delete_tag(id, "creation-date"),
        Err(SecretError::ReservedTagKey { .. })
    ));
    assert_eq!(s.get_tag(id, OWNER_TAG).unwrap().value, "alice");

    // set: add, then replace (returns the old one).
    assert_eq!(s.set_tag(id, Tag::string("color", "red")).unwrap(), None);
    assert_eq!(
        s.set_tag(id, Tag::string("color", "blue")).unwrap(),
        Some(Tag::string("color", "red"))
    );
    assert_eq!(
        s.get_tag(id, "color").unwrap(),
        Tag::string("color", "blue")
    );
    let by_color = |v: &str| {
        s.list(&ListQuery::all().filter(TagFilter::eq("color", v)))
            .unwrap()
            .total_items
    };
    assert_eq!((by_color("red"), by_color("blue")), (0, 1));

    // delete
    assert_eq!(
        s.delete_tag(id, "color").unwrap(),
        Tag::string("color", "blue")
    );
    assert!(matches!(
        s.get_tag(id, "color"),
        Err(SecretError::UnknownTag { .. })
    ));
    assert!(matches!(
        s.delete_tag(id, "color"),
        Err(SecretError::UnknownTag { .. })
    ));
    assert_eq!(by_color("blue"), 0);

    // replace all
    s.replace_tags(id, vec![Tag::string("a", "1"), Tag::long("b", 2)])
        .unwrap();
    let m = s.get_meta(id).unwrap();
    assert_eq!(m.tags, vec![Tag::string("a", "1"), Tag::long("b", 2)]);
    assert_eq!(m.all_tags().len(), 4);
    assert_eq!(m.owner, "alice");
    let round = s
        .list(&ListQuery::all().filter(TagFilter::eq("round", "1")))
        .unwrap();
    assert_eq!(round.total_items, 0, "replaced tags leave the index");
    assert!(matches!(
        s.replace_tags(id, vec![Tag::string("owner", "x")]),
        Err(SecretError::ReservedTagKey { .. })
    ));
    assert_eq!(
        s.get_meta(id).unwrap().tags.len(),
        2,
        "a refused replace changes nothing"
    );

    // unknown secret
    let other = SecretId::random();
    assert!(matches!(
        s.set_tag(other, Tag::string("a", "b")),
        Err(SecretError::UnknownSecret { .. })
    ));
    assert!(matches!(
        s.get_tag(other, "a"),
        Err(SecretError::UnknownSecret { .. })
    ));
}

/// 30 secrets: i in 0..30, created at t = 1000 + i (two share a time to test the id tie-break),
/// tags parity (STRING), i (LONG), and "group" = i % 3 as LONG for even i, STRING for odd i.
fn populate(s: &RedbSecretStore) -> Vec<SecretId> {
    let mut ids = Vec::new();
    for i in 0..30i64 {
        let id = SecretId::random();
        let t = 1000 + (i as u64 / 2) * 2; // pairs share a creation time
        let group = if i % 2 == 0 {
            Tag::long("group", i % 3)
        } else {
            Tag::string("group", (i % 3).to_string())
        };
        s.create(
            NewSecret::new(
                id,
                if i < 10 { "alice" } else { "bob" },
                counting_shares(0, 1),
            )
            .tag(Tag::string(
                "parity",
                if i % 2 == 0 { "even" } else { "odd" },
            ))
            .tag(Tag::long("i", i))
            .tag(group)
            .created_at_ms(t),
        )
        .unwrap();
        ids.push(id);
    }
    ids
}

fn expected_order(
    s: &RedbSecretStore,
    ids: &[SecretId],
    pick: impl Fn(usize) -> bool,
) -> Vec<SecretId> {
    let mut v: Vec<(u64, SecretId)> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| pick(*i))
        .map(|(_, id)| (s.get_meta(*id).unwrap().created_at_ms, *id))
        .collect();
    v.sort();
    v.into_iter().map(|(_, id)| id).collect()
}

fn listed(s: &RedbSecretStore, q: &ListQuery) -> Vec<SecretId> {
    s.list(q).unwrap().items.into_iter().map(|m| m.id).collect()
}

#[test]
fn filters_select_exactly_the_matching_secrets() {
    let (_dir, s) = open();
    let ids = populate(&s);
    let q = |fs: &[&str]| {
        let mut q = ListQuery::all();
        for f in fs {
            q = q.filter(f.parse().unwrap());
        }
        listed(&s, &q)
    };
    assert_eq!(q(&[]), expected_order(&s, &ids, |_| true));
    assert_eq!(
        q(&["parity=even"]),
        expected_order(&s, &ids, |i| i % 2 == 0)
    );
    assert_eq!(q(&["parity:odd"]), expected_order(&s, &ids, |i| i % 2 == 1));
    assert_eq!(q(&["i<5"]), expected_order(&s, &ids, |i| i < 5));
    assert_eq!(q(&["i>25"]), expected_order(&s, &ids, |i| i > 25));
    assert_eq!(q(&["i>-1"]), expected_order(&s, &ids, |_| true));
    assert_eq!(q(&["i=7"]), vec![ids[7]]);
    assert_eq!(q(&["i=+07"]), vec![ids[7]], "LONG equality is numeric");
    assert_eq!(
        q(&["i>3", "i<9", "parity=odd"]),
        expected_order(&s, &ids, |i| i > 3 && i < 9 && i % 2 == 1)
    );
    // `=` matches STRING and LONG tags of that value; `<` and `>` only LONG ones.
    assert_eq!(q(&["group=1"]), expected_order(&s, &ids, |i| i % 3 == 1));
    assert_eq!(
        q(&["group<1"]),
        expected_order(&s, &ids, |i| i % 2 == 0 && i % 3 == 0)
    );
    // Reserved tags are filterable.
    assert_eq!(q(&["owner=alice"]), expected_order(&s, &ids, |i| i < 10));
    assert_eq!(
        q(&["owner=bob", "creation-date<1012"]),
        expected_order(&s, &ids, |i| (10..12).contains(&i))
    );
    // No match, unknown key, extreme bounds.
    assert!(q(&["parity=none"]).is_empty());
    assert!(q(&["nosuchkey=1"]).is_empty());
    assert!(q(&[&format!("i>{}", i64::MAX)]).is_empty());
    assert!(q(&[&format!("i<{}", i64::MIN)]).is_empty());
    // A value containing an operator character after the first one.
    let id = SecretId::random();
    s.create(NewSecret::new(id, "c", counting_shares(0, 1)).tag(Tag::string("eq", "a=b<c")))
        .unwrap();
    assert_eq!(q(&["eq=a=b<c"]), vec![id]);
}

#[test]
fn invalid_filters_are_refused() {
    let (_dir, s) = open();
    for (f, needle) in [
        ("novalue", "no operator"),
        ("k<abc", "64-bit integer"),
        ("k>1.5", "64-bit integer"),
        ("bad key=1", "is invalid"),
        ("=1", "empty"),
    ] {
        let e = f.parse::<TagFilter>().unwrap_err();
        assert!(e.to_string().contains(needle), "{f}: {e}");
        assert_eq!(e.class(), ErrorClass::Invalid);
    }
    // Filters built in code are checked by `list`.
    let e = s
        .list(&ListQuery::all().filter(TagFilter {
            key: "k".into(),
            op: store::TagOp::Lt,
            value: "x".into(),
        }))
        .unwrap_err();
    assert!(matches!(e, SecretError::InvalidFilter { .. }), "{e}");
    assert_eq!(
        TagFilter::parse_list("a=1, b<2,c>3").unwrap(),
        vec![
            TagFilter::eq("a", "1"),
            TagFilter::lt("b", 2),
            TagFilter::gt("c", 3)
        ]
    );
}

#[test]
fn paging_is_stable_and_reports_totals() {
    let (_dir, s) = open();
    let ids = populate(&s);
    let all = expected_order(&s, &ids, |_| true);
    // Unfiltered and filtered paths.
    for filter in [None, Some(TagFilter::gt("i", -1))] {
        let mut seen = Vec::new();
        for page in 0..4 {
            let mut q = ListQuery::all().page(page, 8);
            if let Some(f) = &filter {
                q = q.filter(f.clone());
            }
            let p = s.list(&q).unwrap();
            assert_eq!(p.total_items, 30);
            assert_eq!(p.total_pages, 4);
            assert_eq!(p.number, page);
            assert_eq!(p.size, 8);
            assert_eq!(p.items.len(), if page < 3 { 8 } else { 6 });
            seen.extend(p.items.into_iter().map(|m| m.id));
        }
        assert_eq!(seen, all);
        let mut q = ListQuery::all().page(9, 8);
        if let Some(f) = &filter {
            q = q.filter(f.clone());
        }
        let beyond = s.list(&q).unwrap();
        assert!(beyond.items.is_empty());
        assert_eq!(beyond.total_items, 30);
        // Newest first is the exact reverse.
        let mut q = ListQuery::all();
        q.newest_first = true;
        if let Some(f) = &filter {
            q = q.filter(f.clone());
        }
        let mut rev = all.clone();
        rev.reverse();
        assert_eq!(listed(&s, &q), rev);
        let mut q1 = q.clone().page(1, 5);
        q1.newest_first = true;
        assert_eq!(listed(&s, &q1), rev[5..10].to_vec());
    }
    // Filtered page.
    let p = s
        .list(
            &ListQuery::all()
                .filter(TagFilter::eq("parity", "even"))
                .page(1, 4),
        )
        .unwrap();
    assert_eq!((p.total_items, p.total_pages), (15, 4));
    assert_eq!(
        p.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        expected_order(&s, &ids, |i| i % 2 == 0)[4..8].to_vec()
    );
    // Bad page sizes.
    assert!(matches!(
        s.list(&ListQuery::all().page(0, 0)),
        Err(SecretError::InvalidPage { .. })
    ));
    assert!(matches!(
        s.list(&ListQuery::all().page(0, 1_000_000)),
        Err(SecretError::InvalidPage { .. })
    ));
    // Stable while an older secret is deleted: later pages shift by exactly one.
    let before = listed(&s, &ListQuery::all().page(1, 10));
    s.delete(all[0]).unwrap();
    let after = listed(&s, &ListQuery::all().page(1, 10));
    assert_eq!(after[..9], before[1..]);
}

#[test]
fn secrets_survive_reopening_and_the_file_kind_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let id = SecretId::random();
    {
        let s = RedbSecretStore::open(&path).unwrap();
        s.create(NewSecret::new(id, "alice", counting_shares(5, 100)).tag(Tag::long("x", 9)))
            .unwrap();
    }
    let s = RedbSecretStore::open(&path).unwrap();
    assert_eq!(s.get(id).unwrap().shares, counting_shares(5, 100));
    assert_eq!(
        listed(&s, &ListQuery::all().filter(TagFilter::gt("x", 8))),
        vec![id]
    );
    drop(s);
    // A secret store is not a tuple store, and vice versa.
    let e = RedbTupleStore::open(&path, 0).unwrap_err();
    assert!(matches!(e, TupleError::WrongStore { .. }), "{e}");
    let tpath = dir.path().join("t.redb");
    drop(RedbTupleStore::open(&tpath, 0).unwrap());
    let e = RedbSecretStore::open(&tpath).unwrap_err();
    assert!(matches!(e, SecretError::WrongStore { .. }), "{e}");
    // The file is locked while open.
    let _s = RedbSecretStore::open(&path).unwrap();
    let e = RedbSecretStore::open(&path).unwrap_err();
    assert!(matches!(e, SecretError::Locked { .. }), "{e}");
    assert!(e.to_string().contains("another node"), "{e}");
}

#[test]
fn ids_parse_and_refuse_nonsense() {
    let id: SecretId = "3f2504e0-4f89-41d3-9a0c-0305e82c3301".parse().unwrap();
    assert_eq!(id.to_string(), "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    assert!("nope".parse::<SecretId>().is_err());
    assert!("00000000-0000-0000-0000-000000000000"
        .parse::<SecretId>()
        .unwrap_err()
        .to_string()
        .contains("nil"));
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, "\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\"");
    let t: Tag = serde_json::from_str(r#"{"key":"k","value":"5","valueType":"LONG"}"#).unwrap();
    assert_eq!(t, Tag::long("k", 5));
}

/// Listing 10⁴ secrets with filters goes through the tag index; this keeps it well under the
/// time of one HTTP round trip even in a debug-ish test build.
#[test]
fn listing_ten_thousand_secrets_with_filters_is_fast() {
    let (_dir, s) = open();
    // Bulk-load in batches (each batch is one fsynced commit).
    for batch in 0..10 {
        let secrets = (batch * 1000..(batch + 1) * 1000)
            .map(|i: i64| {
                NewSecret::new(SecretId::random(), "o", counting_shares(0, 1))
                    .tag(Tag::long("i", i))
                    .tag(Tag::string("bucket", (i % 10).to_string()))
                    .created_at_ms(1_000_000 + i as u64)
            })
            .collect();
        s.create_many(secrets).unwrap();
    }
    let t = std::time::Instant::now();
    let p = s
        .list(
            &ListQuery::all()
                .filter(TagFilter::eq("bucket", "3"))
                .filter(TagFilter::lt("i", 5000))
                .page(2, 50),
        )
        .unwrap();
    let filtered = t.elapsed();
    assert_eq!(p.total_items, 500);
    assert_eq!(p.items.len(), 50);
    assert!(p
        .items
        .iter()
        .all(|m| m.tag("bucket").unwrap().value == "3"));
    let t = std::time::Instant::now();
    let p = s.list(&ListQuery::all().page(100, 50)).unwrap();
    let unfiltered = t.elapsed();
    assert_eq!(p.total_items, 10_000);
    eprintln!("list 10^4: filtered {filtered:?}, unfiltered page {unfiltered:?}");
    assert!(filtered.as_millis() < 500, "{filtered:?}");
}

// ---- use policies, use counters and audit records ----------------------------------------

use store::secret::PageRequest;
use store::{AuditEntry, OutputMode, SecretUse, UsePolicy};

fn hash(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

fn entry(user: &str, game: &str) -> AuditEntry {
    AuditEntry {
        at_ms: 1_700_000_000_000,
        user: user.into(),
        game_id: game.into(),
        program_hash: hash('a'),
        output: OutputMode::Plaintext,
    }
}

fn use_of(id: SecretId, user: &str, game: &str) -> SecretUse {
    SecretUse {
        id,
        entry: entry(user, game),
    }
}

#[test]
fn policy_round_trip_replace_and_clear() {
    let (_dir, s) = open();
    let id = SecretId::random();
    s.create(NewSecret::new(id, "alice", random_shares(2, 3)))
        .unwrap();
    assert_eq!(s.get_policy(id).unwrap(), None);
    let set = s
        .set_policy(
            id,
            UsePolicy {
                programs: vec![hash('B'), hash('a'), hash('b')],
                outputs: vec![OutputMode::SecretShare, OutputMode::Plaintext],
                max_uses: Some(5),
            },
        )
        .unwrap();
    assert_eq!(set.programs, vec![hash('a'), hash('b')]);
    assert_eq!(
        set.outputs,
        vec![OutputMode::Plaintext, OutputMode::SecretShare]
    );
    assert_eq!(s.get_policy(id).unwrap(), Some(set));
    // A bad policy is refused and the stored one stays.
    let e = s
        .set_policy(
            id,
            UsePolicy {
                programs: vec!["not-a-hash".into()],
                outputs: OutputMode::ALL.to_vec(),
                max_uses: None,
            },
        )
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Invalid);
    assert!(e.to_string().contains("64 hex characters"), "{e}");
    assert_eq!(s.get_policy(id).unwrap().unwrap().max_uses, Some(5));
    // Replace, then clear.
    let many: Vec<String> = (0..500).map(|i| format!("{i:064x}")).collect();
    s.set_policy(
        id,
        UsePolicy {
            programs: many.clone(),
            outputs: vec![OutputMode::AmphoraSecret],
            max_uses: None,
        },
    )
    .unwrap();
    let got = s.get_policy(id).unwrap().unwrap();
    assert_eq!(got.programs.len(), 500);
    assert!(got.allows(&many[499], OutputMode::AmphoraSecret));
    assert!(s.clear_policy(id).unwrap());
    assert!(!s.clear_policy(id).unwrap());
    assert_eq!(s.get_policy(id).unwrap(), None);
    // Unknown secrets.
    let other = SecretId::random();
    assert!(matches!(
        s.get_policy(other),
        Err(SecretError::UnknownSecret { .. })
    ));
    assert!(matches!(
        s.set_policy(other, got),
        Err(SecretError::UnknownSecret { .. })
    ));
    assert!(matches!(
        s.clear_policy(other),
        Err(SecretError::UnknownSecret { .. })
    ));
}

#[test]
fn uses_are_counted_for_others_only_and_limited_atomically() {
    let (_dir, s) = open();
    let (a, b) = (SecretId::random(), SecretId::random());
    s.create(NewSecret::new(a, "alice", random_shares(3, 2)))
        .unwrap();
    s.create(NewSecret::new(b, "alice", random_shares(4, 2)))
        .unwrap();
    s.set_policy(
        a,
        UsePolicy {
            programs: vec![hash('a')],
            outputs: OutputMode::ALL.to_vec(),
            max_uses: Some(2),
        },
    )
    .unwrap();
    // The owner's use is audited but not counted; a secret named twice counts once.
    s.record_uses(&[use_of(a, "alice", "g0")]).unwrap();
    s.record_uses(&[use_of(a, "bob", "g1"), use_of(a, "bob", "g1")])
        .unwrap();
    assert_eq!(s.use_count(a).unwrap(), 1);
    s.record_uses(&[use_of(a, "bob", "g2"), use_of(b, "bob", "g2")])
        .unwrap();
    assert_eq!((s.use_count(a).unwrap(), s.use_count(b).unwrap()), (2, 1));
    // The limit is reached: the whole batch is refused, b is not counted either.
    let e = s
        .record_uses(&[use_of(b, "bob", "g3"), use_of(a, "carol", "g3")])
        .unwrap_err();
    assert!(
        matches!(e, SecretError::UseLimitReached { id, uses: 2, max: 2 } if id == a),
        "{e}"
    );
    assert!(e.to_string().contains("max_uses"), "{e}");
    assert_eq!((s.use_count(a).unwrap(), s.use_count(b).unwrap()), (2, 1));
    assert_eq!(s.list_audit(b, None).unwrap().total_items, 1);
    // The owner is never limited.
    s.record_uses(&[use_of(a, "alice", "g4")]).unwrap();
    // Raising the limit allows one more; clearing the policy keeps the count.
    s.set_policy(
        a,
        UsePolicy {
            programs: vec![hash('a')],
            outputs: OutputMode::ALL.to_vec(),
            max_uses: Some(3),
        },
    )
    .unwrap();
    s.record_uses(&[use_of(a, "bob", "g5")]).unwrap();
    assert!(s.record_uses(&[use_of(a, "bob", "g6")]).is_err());
    s.clear_policy(a).unwrap();
    assert_eq!(s.use_count(a).unwrap(), 3);
    // Bad entries and unknown secrets record nothing.
    let mut bad = use_of(b, "", "g7");
    assert_eq!(
        s.record_uses(std::slice::from_ref(&bad))
            .unwrap_err()
            .class(),
        ErrorClass::Invalid
    );
    bad.entry.user = "bob".into();
    assert!(matches!(
        s.record_uses(&[bad, use_of(SecretId::random(), "bob", "g7")]),
        Err(SecretError::UnknownSecret { .. })
    ));
    assert_eq!(s.list_audit(b, None).unwrap().total_items, 1);
    assert!(matches!(
        s.use_count(SecretId::random()),
        Err(SecretError::UnknownSecret { .. })
    ));
}

#[test]
fn audit_records_append_and_page_in_order() {
    let (_dir, s) = open();
    let id = SecretId::random();
    s.create(NewSecret::new(id, "alice", random_shares(5, 1)))
        .unwrap();
    assert_eq!(s.list_audit(id, None).unwrap().items, vec![]);
    for i in 0..25 {
        let user = if i % 5 == 0 { "alice" } else { "bob" };
        s.record_uses(&[use_of(id, user, &format!("g{i}"))])
            .unwrap();
    }
    let all = s.list_audit(id, None).unwrap();
    assert_eq!(all.total_items, 25);
    let games: Vec<String> = all.items.iter().map(|e| e.game_id.clone()).collect();
    assert_eq!(games, (0..25).map(|i| format!("g{i}")).collect::<Vec<_>>());
    assert_eq!(all.items[5], entry("alice", "g5"));
    let p = s
        .list_audit(
            id,
            Some(PageRequest {
                number: 2,
                size: 10,
            }),
        )
        .unwrap();
    assert_eq!(
        (p.number, p.size, p.total_items, p.total_pages),
        (2, 10, 25, 3)
    );
    assert_eq!(p.items.len(), 5);
    assert_eq!(p.items[0].game_id, "g20");
    let past = s
        .list_audit(
            id,
            Some(PageRequest {
                number: 9,
                size: 10,
            }),
        )
        .unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.total_items, 25);
    assert!(matches!(
        s.list_audit(id, Some(PageRequest { number: 0, size: 0 })),
        Err(SecretError::InvalidPage { .. })
    ));
    assert!(matches!(
        s.list_audit(SecretId::random(), None),
        Err(SecretError::UnknownSecret { .. })
    ));
    assert_eq!(s.use_count(id).unwrap(), 20);
}

#[test]
fn deleting_a_secret_removes_its_policy_counter_and_audit_durably() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.redb");
    let id = SecretId::random();
    let keep = SecretId::random();
    {
        let s = RedbSecretStore::open(&path).unwrap();
        for x in [id, keep] {
            s.create(NewSecret::new(x, "alice", random_shares(6, 2)))
                .unwrap();
            s.set_policy(
                x,
                UsePolicy {
                    programs: vec![hash('c')],
                    outputs: vec![OutputMode::Plaintext],
                    max_uses: Some(1),
                },
            )
            .unwrap();
            s.record_uses(&[use_of(x, "bob", "g1"), use_of(x, "alice", "g2")])
                .unwrap();
            s.record_uses(&[use_of(x, "alice", "g2")]).unwrap();
        }
    }
    // Everything survives a reopening.
    let s = RedbSecretStore::open(&path).unwrap();
    assert_eq!(s.use_count(id).unwrap(), 1);
    assert_eq!(s.list_audit(id, None).unwrap().total_items, 2);
    assert!(s.get_policy(id).unwrap().is_some());
    s.delete(id).unwrap();
    assert!(matches!(
        s.list_audit(id, None),
        Err(SecretError::UnknownSecret { .. })
    ));
    // A new secret with the same id starts clean.
    s.create(NewSecret::new(id, "alice", random_shares(7, 2)))
        .unwrap();
    assert_eq!(s.get_policy(id).unwrap(), None);
    assert_eq!(s.use_count(id).unwrap(), 0);
    assert_eq!(s.list_audit(id, None).unwrap().total_items, 0);
    // The other secret is untouched.
    assert_eq!(s.use_count(keep).unwrap(), 1);
    assert_eq!(s.list_audit(keep, None).unwrap().total_items, 2);
    assert_eq!(s.get_policy(keep).unwrap().unwrap().max_uses, Some(1));
}
