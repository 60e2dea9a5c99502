//! Replayed Carbyne Stack requests: the exact HTTP/1.1 requests the original Java clients send
//! (Apache HttpClient 4.5 through `CsHttpClient`: header order, `Content-type`, Jackson's JSON
//! with its field order, the Amphora client's URL-encoded filter and its `…/{id}//tags` double
//! slash, the Ephemeral client's `<application>.<host>` Host and `?compile=true`), written byte by
//! byte on TCP to a real two-party node cloud (gateways, HTTP servers, insecure dealer tuples),
//! and the answers checked against what those clients parse: the status they need, exactly the
//! fields their Jackson classes have (a default `ObjectMapper` fails on unknown properties), and
//! the values they compute (recombination and the w = s·r, u = v·r check, done here as the
//! Amphora client does it).
//!
//! Covered: upload (`input-masks` + `masked-inputs`), listing with filters, paging and sort,
//! tags, verified download, deletion, an activation with AMPHORASECRET output whose stored
//! secret downloads, Castor telemetry, and the refusals (`secretParams`, no token).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use field::Fp;
use node::{Node, RunningNode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

const TOKEN: &str = "carbyne-replay-token";
const SEED_HEX: &str = "6262626262626262626262626262626262626262626262626262626262626262";
/// What Apache HttpClient 4.5.13 on Java 11 sends as its user agent.
const USER_AGENT: &str = "Apache-HttpClient/4.5.13 (Java/11.0.22)";

/// The Carbyne tutorial's program: both inputs from the socket, their sum back.
const SUM_PROGRAM: &str = "listen(10000)\nclient_socket_id = regint()\nacceptclientconnection(client_socket_id, 10000)\nv = sint.read_from_socket(client_socket_id, 2)\nresp = Array(1, sint)\nresp[0] = v[0] + v[1]\nsint.write_to_socket(client_socket_id, resp)\n";

async fn start(n: usize, dir: &Path) -> Vec<RunningNode> {
    let (parties, listeners) = common::prepare(n, dir, "http");
    let mut nodes = Vec::new();
    for (i, (api, mpc)) in listeners.into_iter().enumerate() {
        let path = dir.join(format!("party{i}.toml"));
        std::fs::write(
            &path,
            node::dev_config_text(i, &parties, dir, SEED_HEX, TOKEN),
        )
        .unwrap();
        let cfg = node::config::NodeConfig::load(&path).unwrap();
        nodes.push(Node::start_on(cfg, api, mpc).await.unwrap());
    }
    nodes
}

/// An HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A 2xx JSON answer, parsed.
    fn json(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            self.headers
        );
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// One request, as Apache HttpClient writes it: the request's own headers in the order the
/// client adds them, then `Content-Length`, `Host`, `Connection`, `User-Agent`, `Accept-Encoding`.
struct Req<'a> {
    method: &'a str,
    target: String,
    host: String,
    token: Option<&'a str>,
    /// JSON exactly as Jackson writes it.
    body: Option<String>,
}

impl Req<'_> {
    fn bytes(&self) -> Vec<u8> {
        let mut s = format!("{} {} HTTP/1.1\r\n", self.method, self.target);
        if self.body.is_some() {
            // CsHttpClient.attachContentToRequest, before the caller's headers.
            s.push_str("Accept: application/json\r\nContent-type: application/json\r\n");
        }
        if let Some(t) = self.token {
            s.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if let Some(b) = &self.body {
            s.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        s.push_str(&format!(
            "Host: {}\r\nConnection: Keep-Alive\r\nUser-Agent: {USER_AGENT}\r\nAccept-Encoding: gzip,deflate\r\n\r\n",
            self.host
        ));
        let mut out = s.into_bytes();
        if let Some(b) = &self.body {
            out.extend_from_slice(b.as_bytes());
        }
        out
    }
}

/// Writes `req` to `addr` and reads one HTTP/1.1 answer (Content-Length or chunked).
async fn exchange(addr: SocketAddr, req: &Req<'_>) -> Answer {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(&req.bytes()).await.unwrap();
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the headers");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let status: u16 = status_line[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_string(), v.trim().to_string())
            })
            .collect();
        let mut rest = buf[head_end + 4..].to_vec();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let body = if let Some(len) = get("content-length") {
            let len: usize = len.parse().unwrap();
            while rest.len() < len {
                let n = s.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed in the body");
                rest.extend_from_slice(&chunk[..n]);
            }
            rest.truncate(len);
            rest
        } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            let mut body = Vec::new();
            loop {
                while !rest.windows(2).any(|w| w == b"\r\n") {
                    let n = s.read(&mut chunk).await.unwrap();
                    assert!(n > 0);
                    rest.extend_from_slice(&chunk[..n]);
                }
                let p = rest.windows(2).position(|w| w == b"\r\n").unwrap();
                let size =
                    usize::from_str_radix(std::str::from_utf8(&rest[..p]).unwrap().trim(), 16)
                        .unwrap();
                while rest.len() < p + 2 + size + 2 {
                    let n = s.read(&mut chunk).await.unwrap();
                    assert!(n > 0);
                    rest.extend_from_slice(&chunk[..n]);
                }
                body.extend_from_slice(&rest[p + 2..p + 2 + size]);
                rest.drain(..p + 2 + size + 2);
                if size == 0 {
                    break body;
                }
            }
        } else {
            assert!(
                status == 204 || status == 304 || status < 200,
                "no length: {headers:?}"
            );
            Vec::new()
        };
        Answer {
            status,
            headers,
            body,
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("an answer within 60 s")
}

/// The replayed clients' view of the cloud.
struct Cloud {
    addrs: Vec<SocketAddr>,
}

impl Cloud {
    fn host(&self, i: usize) -> String {
        self.addrs[i].to_string()
    }

    async fn get(&self, i: usize, target: &str) -> Answer {
        exchange(
            self.addrs[i],
            &Req {
                method: "GET",
                target: target.to_string(),
                host: self.host(i),
                token: Some(TOKEN),
                body: None,
            },
        )
        .await
    }

    async fn send(&self, i: usize, method: &str, target: &str, body: Option<String>) -> Answer {
        exchange(
            self.addrs[i],
            &Req {
                method,
                target: target.to_string(),
                host: self.host(i),
                token: Some(TOKEN),
                body,
            },
        )
        .await
    }

    /// The same request to every party at once (the clients' parallel fan-out).
    async fn all(&self, method: &str, target: &str, body: Option<String>) -> Vec<Answer> {
        let futs = self.addrs.iter().map(|&addr| {
            let (method, target, body) = (method.to_string(), target.to_string(), body.clone());
            async move {
                exchange(
                    addr,
                    &Req {
                        method: &method,
                        target,
                        host: addr.to_string(),
                        token: Some(TOKEN),
                        body,
                    },
                )
                .await
            }
        });
        futures_join(futs).await
    }
}

async fn futures_join<F: std::future::Future<Output = Answer> + Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<Answer> {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// `byte[]` as Jackson reads it (base64), as field elements (16-byte Montgomery words), as the
/// Amphora client's `SecretShareUtil` reads them.
fn elements(v: &Value) -> Vec<Fp> {
    let b = STANDARD.decode(v.as_str().unwrap()).unwrap();
    assert_eq!(b.len() % 16, 0);
    api::FieldVec::from_bytes(b).to_elements().unwrap()
}

/// The Amphora client's `verifyOutputDeliveryObjects`: recombine each of the five vectors over
/// the parties and check w = s·r and u = v·r; the secret values (or masks) come out.
fn verify_odos(odos: &[Value]) -> Vec<Fp> {
    let sum = |field: &str| -> Vec<Fp> {
        let parts: Vec<Vec<Fp>> = odos.iter().map(|o| elements(&o[field])).collect();
        (0..parts[0].len())
            .map(|i| parts.iter().map(|p| p[i]).sum())
            .collect()
    };
    let (s, r, v, w, u) = (
        sum("secretShares"),
        sum("rShares"),
        sum("vShares"),
        sum("wShares"),
        sum("uShares"),
    );
    for i in 0..s.len() {
        assert_eq!(w[i], s[i] * r[i], "w = s·r at {i}");
        assert_eq!(u[i], v[i] * r[i], "u = v·r at {i}");
    }
    s
}

const ODO_KEYS: [&str; 5] = ["rShares", "secretShares", "uShares", "vShares", "wShares"];

/// `DefaultAmphoraClient.createSecret`: masks under requestId = secretId, then the masked values.
async fn create_secret(cloud: &Cloud, values: &[i64], tags_json: &str) -> Uuid {
    let secret_id = Uuid::new_v4();
    let answers = cloud
        .all(
            "GET",
            &format!(
                "/amphora/input-masks?requestId={secret_id}&count={}",
                values.len()
            ),
            None,
        )
        .await;
    let odos: Vec<Value> = answers.iter().map(|a| a.json(200)).collect();
    for o in &odos {
        assert_eq!(keys(o), ODO_KEYS, "exactly OutputDeliveryObject's fields");
    }
    let masks = verify_odos(&odos);
    assert_eq!(masks.len(), values.len());
    // SecretShareUtil.maskInput: (x − r) mod p as a 16-byte Montgomery word; Jackson's base64.
    let data: Vec<String> = values
        .iter()
        .zip(&masks)
        .map(|(&x, &r)| {
            let m = api::FieldVec::from_elements(&[Fp::from_i64(x) - r]);
            format!("{{\"value\":\"{}\"}}", STANDARD.encode(m.as_bytes()))
        })
        .collect();
    let body = format!(
        "{{\"secretId\":\"{secret_id}\",\"data\":[{}],\"tags\":{tags_json}}}",
        data.join(",")
    );
    for (i, a) in cloud
        .all("POST", "/amphora/masked-inputs", Some(body))
        .await
        .iter()
        .enumerate()
    {
        // `upload(params, URI.class)`: a 201 whose body Jackson reads as a URI.
        let uri = a.json(201);
        let want = format!("http://{}/amphora/secret-shares/{secret_id}", cloud.host(i));
        assert_eq!(
            a.text(),
            format!("\"{want}\""),
            "the body is exactly a JSON string"
        );
        assert_eq!(uri, Value::String(want.clone()));
        assert_eq!(a.header("location"), Some(want.as_str()));
    }
    secret_id
}

/// `DefaultAmphoraClient.getSecret`: a random requestId, `VerifiableSecretShare` from every party.
async fn get_secret(cloud: &Cloud, id: Uuid) -> (Vec<i128>, Vec<Value>) {
    let rid = Uuid::new_v4();
    let answers = cloud
        .all(
            "GET",
            &format!("/amphora/secret-shares/{id}?requestId={rid}"),
            None,
        )
        .await;
    let vss: Vec<Value> = answers.iter().map(|a| a.json(200)).collect();
    for v in &vss {
        let mut want: Vec<&str> = ODO_KEYS.to_vec();
        want.extend(["secretId", "tags"]);
        want.sort();
        assert_eq!(keys(v), want, "Metadata and OutputDeliveryObject merged");
        assert_eq!(v["secretId"], id.to_string());
    }
    let values = verify_odos(&vss).iter().map(|x| x.to_signed()).collect();
    let tags = vss[0]["tags"].as_array().unwrap().clone();
    (values, tags)
}

fn tag_json(key: &str, value: &str, kind: &str) -> String {
    format!("{{\"key\":\"{key}\",\"value\":\"{value}\",\"valueType\":\"{kind}\"}}")
}

fn assert_tag_shape(t: &Value) {
    assert_eq!(
        keys(t),
        ["key", "value", "valueType"],
        "exactly Tag's fields"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_original_java_clients_requests_work_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = start(2, dir.path()).await;
    let cloud = Cloud {
        addrs: nodes.iter().map(|n| n.api_addr).collect(),
    };

    // ---- Upload (AmphoraClient.createSecret) ---------------------------------------------
    let a = create_secret(
        &cloud,
        &[42, -7],
        &format!(
            "[{},{}]",
            tag_json("name", "my value", "STRING"),
            tag_json("n", "10", "LONG")
        ),
    )
    .await;
    let b = create_secret(
        &cloud,
        &[5],
        &format!(
            "[{},{}]",
            tag_json("name", "other", "STRING"),
            tag_json("n", "3", "LONG")
        ),
    )
    .await;

    // ---- Listing with filters (getSecrets(filters, PageRequest)) -------------------------
    // TagFilter "name" EQUALS "my value" and "n" GREATER_THAN "5": each key and value passes
    // URLEncoder ("my+value"), then URIBuilder encodes the whole parameter.
    let page = cloud
        .get(
            0,
            "/amphora/secret-shares?filter=name%3Amy%2Bvalue%2Cn%3E5&pageNumber=0&pageSize=10&sort=n&dir=DESC",
        )
        .await
        .json(200);
    assert_eq!(
        keys(&page),
        ["content", "number", "size", "totalElements", "totalPages"]
    );
    assert_eq!(page["content"].as_array().unwrap().len(), 1);
    let meta = &page["content"][0];
    assert_eq!(keys(meta), ["secretId", "tags"]);
    assert_eq!(meta["secretId"], a.to_string());
    for t in meta["tags"].as_array().unwrap() {
        assert_tag_shape(t);
    }
    assert!(meta["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["key"] == "name" && t["value"] == "my value"));
    assert_eq!(
        (
            &page["number"],
            &page["size"],
            &page["totalElements"],
            &page["totalPages"]
        ),
        (
            &Value::from(0),
            &Value::from(10),
            &Value::from(1),
            &Value::from(1)
        )
    );
    // getSecrets(Sort): every secret, sorted by the LONG tag n ascending, unpaged.
    let all = cloud
        .get(0, "/amphora/secret-shares?sort=n&dir=ASC")
        .await
        .json(200);
    let ids: Vec<&str> = all["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["secretId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.to_string(), a.to_string()]);
    assert_eq!(
        (&all["size"], &all["totalPages"]),
        (&Value::from(2), &Value::from(1))
    );
    // A malformed filter is a 400 whose body the client shows as its message.
    let bad = cloud
        .get(0, "/amphora/secret-shares?filter=nooperator")
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("no operator"), "{}", bad.text());

    // ---- Tags, at the Java client's double slash -----------------------------------------
    let tags = cloud
        .get(0, &format!("/amphora/secret-shares/{a}//tags"))
        .await
        .json(200);
    let tags = tags.as_array().unwrap();
    assert_eq!(tags[0]["key"], "owner");
    assert_eq!(tags[1]["key"], "creation-date");
    assert_eq!(tags[1]["valueType"], "LONG");
    tags.iter().for_each(assert_tag_shape);
    // createTag: POST to every party, 201 with a URI body.
    for (i, r) in cloud
        .all(
            "POST",
            &format!("/amphora/secret-shares/{a}//tags"),
            Some(tag_json("color", "blue", "STRING")),
        )
        .await
        .iter()
        .enumerate()
    {
        let want = format!(
            "http://{}/amphora/secret-shares/{a}/tags/color",
            cloud.host(i)
        );
        assert_eq!(r.json(201), Value::String(want));
    }
    // A second createTag with the same key conflicts.
    let again = cloud
        .send(
            0,
            "POST",
            &format!("/amphora/secret-shares/{a}//tags"),
            Some(tag_json("color", "red", "STRING")),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text());
    // getTag, updateTag (PUT, 200 with an empty body: Void), deleteTag (200, empty).
    let t = cloud
        .get(1, &format!("/amphora/secret-shares/{a}//tags/color"))
        .await
        .json(200);
    assert_eq!(t.to_string(), tag_json("color", "blue", "STRING"));
    for r in cloud
        .all(
            "PUT",
            &format!("/amphora/secret-shares/{a}//tags/color"),
            Some(tag_json("color", "green", "STRING")),
        )
        .await
    {
        assert_eq!((r.status, r.body.len()), (200, 0), "{}", r.text());
    }
    let t = cloud
        .get(0, &format!("/amphora/secret-shares/{a}//tags/color"))
        .await
        .json(200);
    assert_eq!(t["value"], "green");
    // overwriteTags: PUT a list.
    for r in cloud
        .all(
            "PUT",
            &format!("/amphora/secret-shares/{b}//tags"),
            Some(format!("[{}]", tag_json("name", "renamed", "STRING"))),
        )
        .await
    {
        assert_eq!((r.status, r.body.len()), (200, 0), "{}", r.text());
    }
    for r in cloud
        .all(
            "DELETE",
            &format!("/amphora/secret-shares/{a}//tags/color"),
            None,
        )
        .await
    {
        assert_eq!((r.status, r.body.len()), (200, 0), "{}", r.text());
    }
    let gone = cloud
        .get(0, &format!("/amphora/secret-shares/{a}/tags/color"))
        .await;
    assert_eq!(gone.status, 404);

    // ---- Download with verification (getSecret) ------------------------------------------
    let (values, tags) = get_secret(&cloud, a).await;
    assert_eq!(values, [42, -7]);
    assert!(tags.iter().any(|t| t["key"] == "n" && t["value"] == "10"));

    // ---- Activation with AMPHORASECRET output (EphemeralMultiClient.execute) -------------
    let game = Uuid::new_v4();
    let activation = format!(
        "{{\"amphoraParams\":[\"{a}\"],\"secretParams\":[],\"gameId\":\"{game}\",\"code\":{},\"output\":{{\"type\":\"AMPHORASECRET\"}}}}",
        serde_json::to_string(SUM_PROGRAM).unwrap()
    );
    let futs = (0..2).map(|i| {
        let addr = cloud.addrs[i];
        // EphemeralEndpoint.getActivationUri: the host becomes <application>.<host>.
        let host = format!("ephemeral-generic.default.{}", cloud.host(i));
        let body = activation.clone();
        async move {
            exchange(
                addr,
                &Req {
                    method: "POST",
                    target: "/?compile=true".into(),
                    host,
                    token: Some(TOKEN),
                    body: Some(body),
                },
            )
            .await
        }
    });
    let answers = futures_join(futs).await;
    let mut stored = Vec::new();
    for r in &answers {
        // ActivationResult {List<UUID> response}: exactly one property.
        let v = r.json(200);
        assert_eq!(keys(&v), ["response"]);
        let id: Uuid = v["response"][0].as_str().unwrap().parse().unwrap();
        assert_eq!(r.text(), format!("{{\"response\":[\"{id}\"]}}"));
        stored.push(id);
    }
    assert_eq!(
        stored[0], stored[1],
        "every party names the same stored secret"
    );
    // The CLI then reads the result with AmphoraClient.getSecret.
    let (sum, tags) = get_secret(&cloud, stored[0]).await;
    assert_eq!(sum, [35]);
    assert!(tags
        .iter()
        .any(|t| t["key"] == "gameID" && t["value"] == game.to_string()));

    // secretParams alone: refused with a clear 400 (the client shows the body as its message).
    let raw = format!(
        "{{\"amphoraParams\":[],\"secretParams\":[\"{}\"],\"gameId\":\"{}\",\"code\":\"x\",\"output\":{{\"type\":\"PLAINTEXT\"}}}}",
        STANDARD.encode([0u8; 32]),
        Uuid::new_v4()
    );
    let r = cloud.send(0, "POST", "/?compile=true", Some(raw)).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("secretParams") && r.text().contains("amphoraParams"),
        "{}",
        r.text()
    );

    // ---- Castor telemetry (CastorIntraVcpClient.getTelemetryData(interval)) --------------
    let t = cloud
        .get(1, "/castor/intra-vcp/telemetry?interval=30")
        .await
        .json(200);
    assert_eq!(keys(&t), ["interval", "metrics"]);
    assert_eq!(t["interval"], 60_000);
    let metrics = t["metrics"].as_array().unwrap();
    let types: Vec<&str> = metrics
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "BIT_GFP",
            "BIT_GF2N",
            "INPUT_MASK_GFP",
            "INPUT_MASK_GF2N",
            "INVERSE_TUPLE_GFP",
            "INVERSE_TUPLE_GF2N",
            "SQUARE_TUPLE_GFP",
            "SQUARE_TUPLE_GF2N",
            "MULTIPLICATION_TRIPLE_GFP",
            "MULTIPLICATION_TRIPLE_GF2N"
        ]
    );
    for m in metrics {
        assert_eq!(keys(m), ["available", "consumptionRate", "type"]);
        assert!(
            m["available"].is_i64() && m["consumptionRate"].is_i64(),
            "{m}"
        );
    }
    let triples = &metrics[8];
    assert!(triples["available"].as_i64().unwrap() > 0, "{t}");
    let r = cloud.get(0, "/castor/intra-vcp/telemetry?interval=0").await;
    assert_eq!(r.status, 400);

    // ---- Delete (deleteSecret), then the secret is gone ----------------------------------
    for r in cloud
        .all("DELETE", &format!("/amphora/secret-shares/{b}"), None)
        .await
    {
        assert_eq!((r.status, r.body.len()), (200, 0), "{}", r.text());
    }
    let r = cloud
        .get(
            0,
            &format!("/amphora/secret-shares/{b}?requestId={}", Uuid::new_v4()),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());

    // ---- Without a token: 401 on every compatible route ----------------------------------
    for (method, target) in [
        ("GET", "/amphora/secret-shares".to_string()),
        ("GET", format!("/amphora/input-masks?requestId={a}&count=1")),
        ("GET", format!("/amphora/secret-shares/{a}//tags")),
        ("GET", "/castor/intra-vcp/telemetry".to_string()),
        ("DELETE", format!("/amphora/secret-shares/{a}")),
    ] {
        let r = exchange(
            cloud.addrs[0],
            &Req {
                method,
                target: target.clone(),
                host: cloud.host(0),
                token: None,
                body: None,
            },
        )
        .await;
        assert_eq!(r.status, 401, "{method} {target}: {}", r.text());
    }

    for n in nodes {
        n.stop().await;
    }
}
