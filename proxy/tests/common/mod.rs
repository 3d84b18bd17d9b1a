//! Starts the real runbase-server binary on 127.0.0.1 and keeps everything it prints.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

pub const GPT: &str = "openai/gpt-image-2";

pub struct Server {
    pub base: String,
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the server with these flags and environment, on a free port.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut command = Command::new(env!("CARGO_BIN_EXE_runbase-server"));
        command
            .current_dir(root)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("RUNBASE_API_KEY")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("server starts");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(url) = line.strip_prefix("runbase-server listening on ") {
                        let _ = tx.send(url.trim_end_matches('/').to_string());
                    }
                    let mut all = output.lock().unwrap();
                    all.push_str(&line);
                    all.push('\n');
                }
            });
        }
        let base = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no listening line; output:\n{}", output.lock().unwrap()));
        Server {
            base,
            child,
            output,
        }
    }

    pub fn simulator(run_ms: u64) -> Server {
        let run_ms = run_ms.to_string();
        Server::start(&["--sim-run-ms", &run_ms, "--test-faults"], &[])
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) until the server has printed `text`; everything printed.
    pub fn wait_for_output(&self, text: &str) -> String {
        let until = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let output = self.output();
            if output.contains(text) || std::time::Instant::now() > until {
                return output;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit status and everything printed.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let status = self.child.wait().expect("exit status");
        std::thread::sleep(Duration::from_millis(100));
        (status, self.output())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn faults(&self, faults: Value) {
        let answer = client()
            .post(self.url("/__sim/faults"))
            .json(&serde_json::json!({ "faults": faults }))
            .send()
            .await
            .expect("fault control");
        assert!(answer.status().is_success(), "fault control refused");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        // Longer than the proxy's own queue wait (30 s), so that its answer is what a test sees.
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

pub fn run_body(input: Value) -> Value {
    serde_json::json!({ "model": GPT, "input": input })
}

/// Status, headers and the body parsed as JSON (Null when it is not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let answer = request.send().await.expect("answer");
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let text = answer.text().await.expect("body");
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// A GET whose answer must be JSON (the server's own info and control endpoints).
pub async fn get_json(url: String) -> Value {
    client()
        .get(url)
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("a JSON body")
}

/// A GET's body as text, whatever its status (metrics, answers checked for what they hold).
pub async fn get_text(url: String) -> String {
    client()
        .get(url)
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("a text body")
}

/// What a simulator saw from one key: requests, 429s, most in any 10 s.
pub async fn upstream_seen(simulator: &Server, key: &str) -> (u64, u64, u64) {
    let stats = get_json(simulator.url("/__sim/stats")).await;
    let key = &stats["keys"][key];
    (
        key["requests"].as_u64().unwrap_or(0),
        key["rate_limited"].as_u64().unwrap_or(0),
        key["max_in_10s"].as_u64().unwrap_or(0),
    )
}

pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// A body as the core's run object, the one definition the simulator writes and clients read.
pub fn as_run(body: &Value) -> runbase_image::core::api::Run {
    serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("not a run ({e}): {body}"))
}

/// A body as the core's error answer.
pub fn as_error(body: &Value) -> runbase_image::core::api::ErrorBody {
    serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("not an error ({e}): {body}"))
}

/// `2026-06-01T12:00:04.200Z` as milliseconds since 1970; `None` unless exactly that form
/// (UTC, milliseconds).
pub fn iso_ms(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    if bytes.len() != shape.len()
        || !shape.bytes().zip(bytes).all(|(want, got)| match want {
            b'd' => got.is_ascii_digit(),
            other => other == *got,
        })
    {
        return None;
    }
    runbase_image::core::time::iso8601_unix_ms(text)
}

/// Paths of every `null` inside a JSON value (the documented objects have none).
pub fn nulls(value: &Value, path: &str) -> Vec<String> {
    match value {
        Value::Null => vec![path.to_string()],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(i, v)| nulls(v, &format!("{path}[{i}]")))
            .collect(),
        Value::Object(fields) => fields
            .iter()
            .flat_map(|(k, v)| nulls(v, &format!("{path}.{k}")))
            .collect(),
        _ => vec![],
    }
}

/// A real redis-server of the tests' own, on a free port, without persistence; killed on drop.
pub struct Redis {
    pub url: String,
    pub port: u16,
    child: Child,
}

impl Redis {
    pub fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Redis::start_on(port)
    }

    /// On a given port (to bring one back where it was).
    pub fn start_on(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (scripts/setup installs it: apt redis-server)");
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < until,
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            child,
        }
    }

    /// SIGSTOP: Redis holds every connection open and answers nothing.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
