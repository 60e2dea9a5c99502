//! `ephemeral secret ...`: store, read, list, tag and delete secrets; set, show and clear their
//! use policies and read their audit records.

use api::{OutputKind, Tag, UsePolicy};
use clap::{Args, Subcommand};
use serde_json::json;
use uuid::Uuid;

use super::output::{table, user_tags, utc};
use super::{block_on, parse, print_json, CloudOpts};

#[derive(Args, Debug)]
pub struct SecretArgs {
    #[command(flatten)]
    pub opts: CloudOpts,
    #[command(subcommand)]
    pub cmd: SecretCmd,
}

#[derive(Subcommand, Debug)]
pub enum SecretCmd {
    /// Secret-share VALUES into every party (input-mask protocol) and print the new secret's id.
    Create {
        /// Integers in (-p, p); negative values are stored as p - |x|. With --fixed, decimal
        /// numbers (3.25) in the sfix encoding.
        #[arg(required = true, allow_negative_numbers = true, value_parser = parse::number)]
        values: Vec<String>,
        #[command(flatten)]
        fixed: parse::FixedOpts,
        /// A tag: key=value (text) or key:=n (a number, for > and < filters). Repeatable.
        #[arg(long = "tag", short = 't', value_name = "K=V|K:=N", value_parser = parse::tag)]
        tags: Vec<Tag>,
    },
    /// Read a secret back (verified output delivery) and print its values, one per line.
    Get {
        id: Uuid,
        #[command(flatten)]
        fixed: parse::FixedOpts,
    },
    /// List your secrets: id, length, owner, creation time, tags.
    List {
        /// Comma-joined clauses that must all hold: key:value or key=value, key>n, key<n.
        #[arg(long, short = 'f', value_parser = parse::filter)]
        filter: Option<String>,
        /// Page number, from 0 (default: everything).
        #[arg(long)]
        page: Option<u64>,
        /// Page size (default 20 when --page is given).
        #[arg(long)]
        size: Option<u32>,
    },
    /// Show a secret's metadata.
    Info { id: Uuid },
    /// Delete secrets on every party.
    Delete {
        #[arg(required = true)]
        ids: Vec<Uuid>,
    },
    /// Show a secret's tags; --set and --delete change them on every party first.
    Tag {
        id: Uuid,
        /// Set a tag: key=value (text) or key:=n (number). Repeatable.
        #[arg(long, value_name = "K=V|K:=N", value_parser = parse::tag)]
        set: Vec<Tag>,
        /// Delete the tag with this key. Repeatable.
        #[arg(long, value_name = "KEY")]
        delete: Vec<String>,
    },
    /// Show a secret's use policy (who besides you may use it as a game input) and its use
    /// count on every party; --program/--output/--max-uses set it on every party first,
    /// --clear removes it. Replaces the legacy authorizedPrograms tag.
    Policy {
        id: Uuid,
        /// Allow this program (its 64-hex hash, as `fn deploy` or `execute --json` print).
        /// Repeatable, or comma-separated. Setting a policy lists all allowed programs.
        #[arg(
            long = "program",
            short = 'p',
            value_name = "HASH",
            value_delimiter = ','
        )]
        programs: Vec<String>,
        /// Allowed output modes, comma-separated: plaintext, shares, secret (default: all).
        #[arg(long = "output", short = 'o', value_name = "MODES", value_delimiter = ',', value_parser = parse::output_kind)]
        outputs: Vec<OutputKind>,
        /// Most uses by other users over the secret's life (default: no limit).
        #[arg(long, value_name = "N")]
        max_uses: Option<u64>,
        /// Remove the policy (only you may use the secret, or what its authorizedPrograms tag
        /// allows).
        #[arg(long, conflicts_with_all = ["programs", "outputs", "max_uses"])]
        clear: bool,
    },
    /// List every use of a secret as a game input (time, user, game, program, output), as
    /// recorded by one party.
    Audit {
        id: Uuid,
        /// The party whose record to read (every party keeps one).
        #[arg(long, default_value_t = 0)]
        party: usize,
        /// Page number, from 0 (default: everything).
        #[arg(long)]
        page: Option<u64>,
        /// Page size (default 20 when --page is given).
        #[arg(long)]
        size: Option<u32>,
    },
}

/// The policy the `secret policy` options ask for, or `None` to only show it.
fn requested_policy(
    programs: Vec<String>,
    outputs: Vec<OutputKind>,
    max_uses: Option<u64>,
) -> Option<UsePolicy> {
    if programs.is_empty() && outputs.is_empty() && max_uses.is_none() {
        return None;
    }
    let mut p = UsePolicy::programs(programs);
    if !outputs.is_empty() {
        p.outputs = outputs;
    }
    p.max_uses = max_uses;
    Some(p)
}

fn kind_name(k: OutputKind) -> &'static str {
    match k {
        OutputKind::Plaintext => "plaintext",
        OutputKind::SecretShare => "shares",
        OutputKind::AmphoraSecret => "secret",
    }
}

/// Runs `ephemeral secret ...`.
pub fn run(args: SecretArgs) -> anyhow::Result<()> {
    let opts = args.opts;
    let client = opts.client()?;
    let n = client.parties();
    block_on(async move {
        match args.cmd {
            SecretCmd::Create {
                values,
                fixed,
                tags,
            } => {
                let values = fixed.encode(&values)?;
                let _s = opts.spinner(format!("storing {} values on {n} parties", values.len()));
                let id = client.create_secret(&values, tags).await?;
                drop(_s);
                if opts.json {
                    print_json(&json!({ "id": id }))?;
                } else {
                    outln!("{id}");
                }
            }
            SecretCmd::Get { id, fixed } => {
                let fx = fixed.encoding()?;
                let _s = opts.spinner(format!("reading secret {id} from {n} parties"));
                let values = client.get_secret(id).await?;
                drop(_s);
                let values: Vec<String> = values
                    .iter()
                    .map(|v| fixed.show(fx, v.to_signed()))
                    .collect();
                if opts.json {
                    print_json(&json!({ "id": id, "values": values }))?;
                } else {
                    for v in values {
                        outln!("{v}");
                    }
                }
            }
            SecretCmd::List { filter, page, size } => {
                let paging = match (page, size) {
                    (None, None) => None,
                    (p, s) => Some((p.unwrap_or(0), s.unwrap_or(20))),
                };
                let p = client.list_secrets(filter.as_deref(), paging).await?;
                if opts.json {
                    print_json(&p)?;
                } else {
                    let rows: Vec<Vec<String>> = p
                        .items
                        .iter()
                        .map(|s| {
                            vec![
                                s.id.to_string(),
                                s.len.to_string(),
                                s.owner.clone(),
                                utc(s.created_at_ms),
                                user_tags(&s.tags),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(&["ID", "LEN", "OWNER", "CREATED (UTC)", "TAGS"], &rows)
                    );
                    if paging.is_some() {
                        outln!(
                            "page {} of {} ({} secrets)",
                            p.number,
                            p.total_pages,
                            p.total_items
                        );
                    }
                }
            }
            SecretCmd::Info { id } => {
                let info = client.secret_info(id).await?;
                if opts.json {
                    print_json(&info)?;
                } else {
                    outln!("id       {}", info.id);
                    outln!("values   {}", info.len);
                    outln!("owner    {}", info.owner);
                    outln!("created  {} UTC", utc(info.created_at_ms));
                    outln!("tags     {}", user_tags(&info.tags));
                }
            }
            SecretCmd::Delete { ids } => {
                for id in &ids {
                    client.delete_secret(*id).await?;
                    if !opts.json {
                        outln!("deleted {id}");
                    }
                }
                if opts.json {
                    print_json(&json!({ "deleted": ids }))?;
                }
            }
            SecretCmd::Tag { id, set, delete } => {
                for t in set {
                    client.set_tag(id, t).await?;
                }
                for k in delete {
                    client.delete_tag(id, &k).await?;
                }
                let tags = client.get_tags(id).await?;
                if opts.json {
                    print_json(&tags)?;
                } else {
                    let rows: Vec<Vec<String>> = tags
                        .iter()
                        .map(|t| {
                            let kind = match t.value_type {
                                api::TagType::String => "STRING",
                                api::TagType::Long => "LONG",
                            };
                            vec![t.key.clone(), t.value.clone(), kind.into()]
                        })
                        .collect();
                    out!("{}", table(&["KEY", "VALUE", "TYPE"], &rows));
                }
            }
            SecretCmd::Policy {
                id,
                programs,
                outputs,
                max_uses,
                clear,
            } => {
                if clear {
                    client.clear_policy(id).await?;
                } else if let Some(p) = requested_policy(programs, outputs, max_uses) {
                    client.set_policy(id, &p).await?;
                }
                let infos = client.get_policy(id).await?;
                if opts.json {
                    print_json(&infos)?;
                } else if let Some(info) = infos.first() {
                    let source = match info.source {
                        api::PolicySource::Policy => "use policy",
                        api::PolicySource::AuthorizedProgramsTag => {
                            "authorizedPrograms tag (legacy; set a policy to replace it)"
                        }
                        api::PolicySource::None => "none: only you may use this secret",
                    };
                    outln!("secret    {id}");
                    outln!("rule      {source}");
                    if let Some(p) = &info.policy {
                        let modes: Vec<&str> = p.outputs.iter().map(|&k| kind_name(k)).collect();
                        outln!("outputs   {}", modes.join(", "));
                        match p.max_uses {
                            Some(m) => outln!("max uses  {m}"),
                            None => outln!("max uses  unlimited"),
                        }
                        if p.programs.is_empty() {
                            outln!("programs  none");
                        }
                        for (i, h) in p.programs.iter().enumerate() {
                            outln!("{}{h}", if i == 0 { "programs  " } else { "          " });
                        }
                    }
                    let uses: Vec<String> = infos.iter().map(|i| i.uses.to_string()).collect();
                    outln!("uses      {} (by other users; per party)", uses.join(" / "));
                }
            }
            SecretCmd::Audit {
                id,
                party,
                page,
                size,
            } => {
                let paging = match (page, size) {
                    (None, None) => None,
                    (p, s) => Some((p.unwrap_or(0), s.unwrap_or(20))),
                };
                let p = client.audit(id, party, paging).await?;
                if opts.json {
                    print_json(&p)?;
                } else {
                    let rows: Vec<Vec<String>> = p
                        .items
                        .iter()
                        .map(|e| {
                            vec![
                                utc(e.at_ms),
                                e.user.clone(),
                                e.game_id.clone(),
                                e.program_hash.clone(),
                                kind_name(e.output).into(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(&["TIME (UTC)", "USER", "GAME", "PROGRAM", "OUTPUT"], &rows)
                    );
                    if paging.is_some() {
                        outln!(
                            "page {} of {} ({} uses)",
                            p.number,
                            p.total_pages,
                            p.total_items
                        );
                    }
                }
            }
        }
        Ok(())
    })
}
