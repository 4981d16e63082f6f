//! One keep-alive HTTP/1.1 connection (hyper's low-level client): what each load-generator
//! worker and each set-up task holds. No pooling, no redirects followed, no decompression.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderMap, HeaderValue, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Longest time one request may take before it counts as failed (and the connection is
/// replaced).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A request, reusable: the same bytes can be sent many times (`Bytes` clones are cheap).
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) headers: Vec<(&'static str, HeaderValue)>,
    pub(crate) body: Bytes,
}

impl Req {
    pub(crate) fn get(path: &str) -> Self {
        Self {
            method: Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub(crate) fn post(path: &str, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        Self {
            method: Method::POST,
            path: path.to_owned(),
            headers: vec![("content-type", HeaderValue::from_static(content_type))],
            body: body.into(),
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: &str) -> anyhow::Result<Self> {
        let value = HeaderValue::from_str(value).with_context(|| format!("header {name}"))?;
        self.headers.push((name, value));
        Ok(self)
    }
}

/// An answer, read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A connection to `addr`, made again after a transport error.
pub(crate) struct Conn {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// How many times the connection had to be made again (each is also an error).
    pub(crate) reconnects: u64,
}

impl Conn {
    pub(crate) fn new(addr: SocketAddr) -> anyhow::Result<Self> {
        Ok(Self {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            sender: None,
            reconnects: 0,
        })
    }

    async fn sender(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        let sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            previous => {
                if previous.is_some() {
                    self.reconnects += 1;
                }
                let stream = TcpStream::connect(self.addr)
                    .await
                    .with_context(|| format!("connecting to {}", self.addr))?;
                stream.set_nodelay(true)?;
                let (sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(async move {
                    // The connection ends when its sender is dropped or the peer closes it.
                    let _ = connection.await;
                });
                sender
            }
        };
        Ok(self.sender.insert(sender))
    }

    /// Sends `req` and reads the whole answer. On any failure the connection is dropped, so the
    /// next call starts a new one.
    pub(crate) async fn send(&mut self, req: &Req) -> anyhow::Result<Answer> {
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, self.send_inner(req)).await;
        match outcome {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(err)) => {
                self.sender = None;
                self.reconnects += 1;
                Err(err)
            }
            Err(_) => {
                self.sender = None;
                self.reconnects += 1;
                Err(anyhow!(
                    "{} {} took longer than {REQUEST_TIMEOUT:?}",
                    req.method,
                    req.path
                ))
            }
        }
    }

    async fn send_inner(&mut self, req: &Req) -> anyhow::Result<Answer> {
        let host = self.host.clone();
        let sender = self.sender().await?;
        sender.ready().await?;
        let mut builder = Request::builder()
            .method(req.method.clone())
            .uri(req.path.as_str())
            .header(HOST, host);
        for (name, value) in &req.headers {
            builder = builder.header(*name, value.clone());
        }
        let request = builder.body(Full::new(req.body.clone()))?;
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}
