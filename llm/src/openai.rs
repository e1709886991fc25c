//! [`OpenAiClient`]: a [`ChatModel`] answered by a server that speaks the
//! OpenAI chat-completions protocol.
//!
//! That protocol is what nearly every model server speaks (the course's own
//! `aiguide-serve` of chapter 7, llama.cpp's `llama-server`, vLLM, Ollama,
//! hosted APIs), so code written against [`ChatModel`] runs unchanged on a
//! model in this process or on any of them. Replies are streamed
//! (Server-Sent Events), so a learner sees the text appear as it is written.
//!
//! ```no_run
//! use aiguide_llm::openai::OpenAiClient;
//! use aiguide_llm::{ChatModel, ChatRequest, Message};
//!
//! // OPENAI_MODEL set, and for a hosted API OPENAI_BASE_URL and OPENAI_API_KEY.
//! let client = OpenAiClient::from_env()?;
//! let request = ChatRequest::new(vec![Message::user("Name three primary colours.")]);
//! let reply = client.complete_stream(&request, &mut |piece| print!("{piece}"))?;
//! println!("\n{:?}, {:?}", reply.finish_reason, reply.usage);
//! # Ok::<(), aiguide_llm::Error>(())
//! ```

use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::time::Duration;

use serde_json::{Value, json};

use crate::chat::{ChatModel, ChatRequest, FinishReason, Reply, Usage};
use crate::{Error, Result};

/// What to check when the server cannot be reached.
const CONNECT_HINT: &str = "is the server running? (the course's server: chapter 7, \
                            `aiguide-serve`; a hosted API: set OPENAI_BASE_URL)";

/// A client for one model on an OpenAI-compatible server.
#[derive(Clone)]
pub struct OpenAiClient {
    base_url: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
    agent: ureq::Agent,
}

impl OpenAiClient {
    /// A client for `model` at `base_url` (e.g. `http://127.0.0.1:8080/v1`),
    /// without an API key, giving each reply at most 120 s.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> OpenAiClient {
        let timeout = Duration::from_secs(120);
        OpenAiClient {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            model: model.into(),
            api_key: None,
            timeout,
            agent: agent(timeout),
        }
    }

    /// A client configured by `OPENAI_BASE_URL` (default
    /// `https://api.openai.com/v1`), `OPENAI_MODEL` (required) and
    /// `OPENAI_API_KEY` (optional), the variables OpenAI's own tools read.
    pub fn from_env() -> Result<OpenAiClient> {
        let var = |name| std::env::var(name).ok().filter(|value| !value.is_empty());
        let model = var("OPENAI_MODEL").ok_or_else(|| {
            Error::InvalidArgument(
                "OPENAI_MODEL is not set; set it to the name of the model the server should \
                 answer with (e.g. `export OPENAI_MODEL=gpt-4o-mini` for OpenAI's API)"
                    .to_string(),
            )
        })?;
        let base_url = var("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into());
        let client = OpenAiClient::new(base_url, model);
        Ok(match var("OPENAI_API_KEY") {
            Some(key) => client.with_api_key(key),
            None => client,
        })
    }

    /// Sending `key` as `Authorization: Bearer` (hosted APIs need one).
    pub fn with_api_key(mut self, key: impl Into<String>) -> OpenAiClient {
        self.api_key = Some(key.into());
        self
    }

    /// Giving up when a reply, streaming included, takes longer than
    /// `timeout`: a slow model on a CPU needs more than the default 120 s.
    pub fn with_timeout(mut self, timeout: Duration) -> OpenAiClient {
        self.timeout = timeout;
        self.agent = agent(timeout);
        self
    }

    /// The request's JSON body: streamed, with token counts at the end.
    fn body(&self, request: &ChatRequest) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        // Some servers reject an empty `stop` list.
        if !request.stop.is_empty() {
            body["stop"] = json!(request.stop);
        }
        if let Some(schema) = &request.json_schema {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema, "strict": true},
            });
        }
        body
    }

    /// One exchange with the server; the error is the reason for an
    /// [`Error::Http`].
    fn exchange(
        &self,
        url: &str,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Reply, String> {
        let mut post = self
            .agent
            .post(url)
            .header("Content-Type", "application/json");
        if let Some(key) = &self.api_key {
            post = post.header("Authorization", format!("Bearer {key}"));
        }
        let mut response = post
            .send(self.body(request).to_string())
            .map_err(|e| self.failure(e))?;
        let status = response.status();
        let streamed = response.body().mime_type() != Some("application/json");
        let body = response.body_mut();
        if streamed && status.is_success() {
            return self.read_stream(BufReader::new(body.as_reader()), on_text);
        }
        let text = body.read_to_string().map_err(|e| self.failure(e))?;
        if !status.is_success() {
            return Err(status_reason(status.as_u16(), &text));
        }
        // A server without streaming answers with one JSON document.
        let reply = parse_completion(&text)?;
        on_text(&reply.text);
        Ok(reply)
    }

    /// Reads a streamed reply (Server-Sent Events), handing each piece of
    /// text to `on_text`.
    fn read_stream(
        &self,
        reader: impl BufRead,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Reply, String> {
        let mut text = String::new();
        let mut finish_reason = None;
        let mut usage = None;
        let mut done = false;
        for line in reader.lines() {
            let line = line.map_err(|e| self.failure(e.into()))?;
            let data = match line.split_once(':') {
                None if line.is_empty() => continue,
                Some(("data", data)) => data.trim(),
                Some(("" | "event" | "id" | "retry", _)) => continue,
                _ => return Err(not_openai("stream", &line)),
            };
            if data == "[DONE]" {
                done = true;
                break;
            }
            let chunk = parse_json(data, "stream", &line)?;
            let choice = &chunk["choices"][0];
            if let Some(piece) = choice["delta"]["content"]
                .as_str()
                .filter(|p| !p.is_empty())
            {
                on_text(piece);
                text.push_str(piece);
            }
            finish_reason = choice["finish_reason"]
                .as_str()
                .map(finish)
                .or(finish_reason);
            usage = parse_usage(&chunk["usage"]).or(usage);
        }
        if !done && finish_reason.is_none() {
            let reason = "the stream ended before the reply did (no finish_reason, no \
                          `data: [DONE]`); did the server stop? (its log says why)";
            return Err(reason.to_string());
        }
        Ok(Reply {
            text,
            // `[DONE]` without a finish reason ends a reply normally.
            finish_reason: finish_reason.unwrap_or(FinishReason::Stop),
            usage,
        })
    }

    /// What went wrong talking to the server, and what to do about it.
    fn failure(&self, error: ureq::Error) -> String {
        match error {
            ureq::Error::Io(ref e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                format!("could not connect ({error}); {CONNECT_HINT}")
            }
            ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
                format!("could not connect ({error}); {CONNECT_HINT}")
            }
            ureq::Error::Timeout(_) => format!(
                "no complete reply within {:?} ({error}); give a slow model more time with \
                 `OpenAiClient::with_timeout`",
                self.timeout
            ),
            error => format!("the exchange failed: {error}"),
        }
    }
}

/// An agent that hands 4xx/5xx answers back as responses, so that their
/// bodies (which say what is wrong) can be read. Shared with the Chroma
/// client (`rag::chroma`).
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .new_agent()
}

/// The reason for a non-2xx answer: the status, the server's message and
/// what to do.
fn status_reason(status: u16, body: &str) -> String {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|json| json["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| truncate(body.trim(), 200));
    let hint = match status {
        401 => "; set OPENAI_API_KEY to a valid API key",
        404 => "; check the base URL (it usually ends in `/v1`) and the model's name",
        _ => "",
    };
    format!("the server answered {status}: {message}{hint}")
}

/// Parses a non-streamed completion.
fn parse_completion(body: &str) -> Result<Reply, String> {
    let json = parse_json(body, "answer", body)?;
    let choice = &json["choices"][0];
    let text = choice["message"]["content"]
        .as_str()
        .ok_or_else(|| not_openai("answer", body))?;
    Ok(Reply {
        text: text.to_string(),
        finish_reason: choice["finish_reason"]
            .as_str()
            .map_or(FinishReason::Stop, finish),
        usage: parse_usage(&json["usage"]),
    })
}

/// Parses a chunk or answer of the protocol: JSON with `choices`, or the
/// error a server reports instead (mid-stream, too).
fn parse_json(json: &str, what: &str, shown: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(json).map_err(|_| not_openai(what, shown))?;
    if let Some(message) = value["error"]["message"].as_str() {
        return Err(format!("the server reported an error: {message}"));
    }
    if !value["choices"].is_array() {
        return Err(not_openai(what, shown));
    }
    Ok(value)
}

fn finish(reason: &str) -> FinishReason {
    match reason {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        other => FinishReason::Other(other.to_string()),
    }
}

fn parse_usage(usage: &Value) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: usage["prompt_tokens"].as_u64()? as usize,
        completion_tokens: usage["completion_tokens"].as_u64()? as usize,
    })
}

fn not_openai(what: &str, text: &str) -> String {
    format!(
        "not an OpenAI chat-completions {what}: {}; is the base URL that of an \
         OpenAI-compatible server?",
        truncate(text, 200)
    )
}

/// `text` cut to `chars` characters with an ellipsis, for quoting a server's
/// answer in an error message.
pub(crate) fn truncate(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

impl ChatModel for OpenAiClient {
    fn name(&self) -> String {
        self.model.clone()
    }

    fn complete_stream(
        &self,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Reply> {
        let url = format!("{}/chat/completions", self.base_url);
        self.exchange(&url, request, on_text)
            .map_err(|reason| Error::Http { url, reason })
    }
}

/// Shows everything but the API key, so that printing a client cannot leak
/// it into a notebook or a log.
impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread::{self, JoinHandle};

    use super::*;
    use crate::tokenize::Message;

    /// What the test server received.
    struct Received {
        request_line: String,
        /// Header names in lower case.
        headers: HashMap<String, String>,
        body: Value,
    }

    /// A server on loopback for one request, answering `status`,
    /// `content_type` and `body`; returns its base URL and what it received.
    fn serve(status: &str, content_type: &str, body: &str) -> (String, JoinHandle<Received>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut lines = (&mut reader).lines().map(Result::unwrap);
            let request_line = lines.next().unwrap();
            let headers: HashMap<_, _> = lines
                .take_while(|line| !line.is_empty())
                .map(|line| {
                    let (name, value) = line.split_once(':').unwrap();
                    (name.to_ascii_lowercase(), value.trim().to_string())
                })
                .collect();
            let mut body = vec![0; headers["content-length"].parse().unwrap()];
            reader.read_exact(&mut body).unwrap();
            stream.write_all(response.as_bytes()).unwrap();
            Received {
                request_line,
                headers,
                body: serde_json::from_slice(&body).unwrap(),
            }
        });
        (base_url, server)
    }

    fn request() -> ChatRequest {
        ChatRequest::new(vec![Message::user("Hi")])
    }

    /// Why a request to `base_url` fails (the reason of its [`Error::Http`]).
    fn reason(base_url: &str) -> String {
        match OpenAiClient::new(base_url, "m").complete(&request()) {
            Err(Error::Http { url, reason }) => {
                assert_eq!(url, format!("{base_url}/chat/completions"));
                reason
            }
            other => panic!("expected Error::Http, got {other:?}"),
        }
    }

    #[test]
    fn streamed_reply_arrives_in_pieces() {
        let sse = ": keep-alive\n\nevent: message\n\
            data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n\
            data: {\"choices\":[{\"delta\":{\"content\":\"{\\\"a\\\"\"}}]}\n\n\
            data: {\"choices\":[{\"delta\":{\"content\":\": 1}\"},\"finish_reason\":null}]}\n\n\
            data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":null}\n\n\
            data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}\n\n\
            data: [DONE]\n\n";
        let (base_url, server) = serve("200 OK", "text/event-stream", sse);
        let client = OpenAiClient::new(format!("{base_url}/"), "m").with_api_key("sk-test");
        let schema = json!({"type": "object"});
        let mut pieces = Vec::new();
        let reply = client
            .complete_stream(&request().json_schema(schema.clone()), &mut |piece| {
                pieces.push(piece.to_string())
            })
            .unwrap();
        assert_eq!(pieces, ["{\"a\"", ": 1}"]);
        assert_eq!(reply.text, "{\"a\": 1}");
        assert_eq!(reply.finish_reason, FinishReason::Length);
        let usage = Usage {
            prompt_tokens: 7,
            completion_tokens: 3,
        };
        assert_eq!(reply.usage, Some(usage));

        let received = server.join().unwrap();
        assert_eq!(received.request_line, "POST /v1/chat/completions HTTP/1.1");
        assert_eq!(received.headers["authorization"], "Bearer sk-test");
        let body = received.body;
        assert_eq!(body["model"], "m");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "Hi"}]));
        assert_eq!(body["stream"], true);
        assert_eq!(body["response_format"]["json_schema"]["schema"], schema);
        assert!(body.get("stop").is_none());
    }

    #[test]
    fn non_streamed_answer_is_read() {
        let answer = r#"{"choices":[{"message":{"role":"assistant","content":"Hello"},
            "finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}"#;
        let (base_url, server) = serve("200 OK", "application/json", answer);
        let mut streamed = String::new();
        let reply = OpenAiClient::new(&base_url, "m")
            .complete_stream(&request().stop(["\n"]), &mut |piece| streamed += piece)
            .unwrap();
        assert_eq!((reply.text.as_str(), streamed.as_str()), ("Hello", "Hello"));
        assert_eq!(reply.finish_reason, FinishReason::Stop);
        assert_eq!(reply.usage.unwrap().completion_tokens, 1);

        let received = server.join().unwrap();
        assert!(!received.headers.contains_key("authorization"));
        assert_eq!(received.body["stop"], json!(["\n"]));
        assert!(received.body.get("response_format").is_none());
    }

    #[test]
    fn unauthorized_says_to_set_the_key() {
        let error =
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#;
        let (base_url, _server) = serve("401 Unauthorized", "application/json", error);
        let reason = reason(&base_url);
        assert!(reason.contains("401"), "{reason}");
        assert!(reason.contains("Incorrect API key provided"), "{reason}");
        assert!(reason.contains("OPENAI_API_KEY"), "{reason}");
    }

    #[test]
    fn server_error_shows_a_plain_body() {
        let (base_url, _server) = serve("500 Internal Server Error", "text/plain", "out of memory");
        let reason = reason(&base_url);
        assert!(reason.contains("500: out of memory"), "{reason}");
    }

    #[test]
    fn malformed_data_line_is_not_a_stream() {
        let (base_url, _server) = serve("200 OK", "text/event-stream", "data: {oops\n\n");
        let reason = reason(&base_url);
        assert!(
            reason.contains("not an OpenAI chat-completions stream: data: {oops"),
            "{reason}"
        );
    }

    #[test]
    fn stream_cut_short_is_an_error() {
        let sse = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n";
        let (base_url, _server) = serve("200 OK", "text/event-stream", sse);
        let reason = reason(&base_url);
        assert!(reason.contains("ended before the reply did"), "{reason}");
    }

    #[test]
    fn connection_refused_says_to_start_the_server() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base_url = format!("http://127.0.0.1:{port}/v1");
        let reason = reason(&base_url);
        assert!(reason.contains("could not connect"), "{reason}");
        assert!(reason.contains("aiguide-serve"), "{reason}");
    }

    #[test]
    fn debug_hides_the_api_key() {
        let client = OpenAiClient::new("http://localhost/v1", "m").with_api_key("sk-secret");
        let debug = format!("{client:?}");
        assert!(!debug.contains("sk-secret"), "{debug}");
        assert!(debug.contains(r#"api_key: Some("***")"#), "{debug}");
        assert_eq!(client.name(), "m");
    }
}
