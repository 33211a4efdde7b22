//! The NSCA-ng protocol, version 1, as state machines.
//!
//! Requests and responses are lines of at most [`MAX_LINE`] bytes, CRLF
//! included (LF alone is accepted); a keyword is the first four bytes,
//! compared case-insensitively, as Debian's server compares them
//! (`strncasecmp(keyword, line, 4)`). The server side:
//!
//! ```text
//! handshake:  MOIN <version> <session-id>  -> MOIN 1        (then connected)
//!             PING <version>               -> PONG 1        (then closed)
//!             QUIT                         -> OKAY          (then closed)
//!             BAIL <msg>                   ->               (closed)
//!             anything else                -> FAIL Expected MOIN or PING or BAIL
//! connected:  PUSH <size>                  -> OKAY, then <size> bytes -> OKAY | FAIL <msg>
//!             NOOP                         -> OKAY
//!             QUIT / BAIL                  as above
//!             anything else                -> FAIL Expected PUSH or NOOP or QUIT
//! any state:  a line over 1024 bytes       -> BAIL Request line too long (closed)
//! ```
//!
//! The session never decides whether a command may be submitted: it hands
//! the bytes out as [`ServerEvent::Command`] and waits for
//! [`ServerSession::answer`].

use crate::{DEFAULT_MAX_COMMAND_SIZE, MAX_LINE};

/// What happened on a server session; drained with [`ServerSession::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// The client said `MOIN`; the session is open.
    Moin {
        /// The client's session id (printable ASCII, 2–64 bytes).
        session_id: String,
    },
    /// A complete monitoring command (the `PUSH`ed bytes, trailing newline
    /// included). Answer it with [`ServerSession::answer`].
    Command(Vec<u8>),
    /// A request was refused with `FAIL` (the reason is what was sent).
    Refused(String),
    /// The client said `PING`, was answered, and the session is closed.
    Ping,
    /// The client said `QUIT`, was answered, and the session is closed.
    Quit,
    /// The client said `BAIL` with this message; closed.
    ClientBailed(String),
    /// The server sent `BAIL` with this message (line too long, timeout); closed.
    ServerBailed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshake,
    Connected,
    /// Reading this many bytes of a `PUSH`.
    Data(usize),
    /// A command was handed out; waiting for [`ServerSession::answer`].
    Answer,
    Closed,
}

/// The server side of one NSCA-ng connection (after the TLS handshake).
#[derive(Debug)]
pub struct ServerSession {
    state: State,
    input: Vec<u8>,
    output: Vec<u8>,
    max_command_size: usize,
    session_id: Option<String>,
}

impl Default for ServerSession {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_COMMAND_SIZE)
    }
}

impl ServerSession {
    /// A session refusing `PUSH` sizes over `max_command_size` (0: no limit).
    pub fn new(max_command_size: usize) -> Self {
        ServerSession {
            state: State::Handshake,
            input: Vec::new(),
            output: Vec::new(),
            max_command_size,
            session_id: None,
        }
    }

    /// Bytes received from the client. Processing happens in [`poll`](Self::poll).
    pub fn receive(&mut self, bytes: &[u8]) {
        if self.state != State::Closed {
            self.input.extend_from_slice(bytes);
        }
    }

    /// Whether the session is over (the caller shuts the connection down
    /// after sending the last output).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether a command waits for [`answer`](Self::answer).
    pub fn awaits_answer(&self) -> bool {
        self.state == State::Answer
    }

    /// The client's session id, once `MOIN` was accepted.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// Bytes to send to the client; the buffer is emptied.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Answers the command handed out last: `Ok(())` sends `OKAY`,
    /// `Err(msg)` sends `FAIL <msg>`. Ignored when no command waits.
    pub fn answer(&mut self, verdict: Result<(), &str>) {
        if self.state != State::Answer {
            return;
        }
        match verdict {
            Ok(()) => self.respond("OKAY"),
            Err(msg) => self.respond(&format!("FAIL {}", one_line(msg))),
        }
        self.state = State::Connected;
    }

    /// The connection was idle too long: `BAIL Connection timed out`.
    pub fn timed_out(&mut self) -> Option<ServerEvent> {
        if self.state == State::Closed {
            return None;
        }
        Some(self.bail("Connection timed out"))
    }

    /// The next event, processing buffered input; `None` when more input
    /// is needed, a command waits for its answer, or the session is closed.
    pub fn poll(&mut self) -> Option<ServerEvent> {
        loop {
            match self.state {
                State::Closed | State::Answer => return None,
                State::Data(n) => {
                    if self.input.len() < n {
                        return None;
                    }
                    let rest = self.input.split_off(n);
                    let data = std::mem::replace(&mut self.input, rest);
                    self.state = State::Answer;
                    return Some(ServerEvent::Command(data));
                }
                State::Handshake | State::Connected => {
                    let Some(line) = self.take_line() else {
                        if self.input.len() >= MAX_LINE {
                            return Some(self.bail("Request line too long"));
                        }
                        return None;
                    };
                    let line = match line {
                        Ok(l) => l,
                        Err(()) => return Some(self.bail("Request line too long")),
                    };
                    if let Some(ev) = self.request(&line) {
                        return Some(ev);
                    }
                }
            }
        }
    }

    /// Takes one line off the input (without its LF or CRLF); `Err` when
    /// it is longer than [`MAX_LINE`].
    fn take_line(&mut self) -> Option<Result<Vec<u8>, ()>> {
        let end = self.input.iter().position(|&b| b == b'\n')?;
        if end + 1 > MAX_LINE {
            return Some(Err(()));
        }
        let rest = self.input.split_off(end + 1);
        let mut line = std::mem::replace(&mut self.input, rest);
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(Ok(line))
    }

    fn request(&mut self, line: &[u8]) -> Option<ServerEvent> {
        let kw = keyword(line);
        match (self.state, kw) {
            (_, Some(Keyword::Quit)) => {
                self.respond("OKAY");
                self.state = State::Closed;
                Some(ServerEvent::Quit)
            }
            (_, Some(Keyword::Bail)) => {
                self.state = State::Closed;
                let msg = String::from_utf8_lossy(line.get(5..).unwrap_or_default()).into_owned();
                Some(ServerEvent::ClientBailed(msg))
            }
            (State::Handshake, Some(Keyword::Moin)) => match args(line, 3) {
                Some(a) if positive(a[1]).is_some() && valid_session_id(a[2]) => {
                    let id = String::from_utf8_lossy(a[2]).into_owned();
                    self.session_id = Some(id.clone());
                    self.respond("MOIN 1");
                    self.state = State::Connected;
                    Some(ServerEvent::Moin { session_id: id })
                }
                Some(a) if positive(a[1]).is_none() => Some(self.fail("Expected protocol version")),
                _ => Some(self.fail("Cannot parse MOIN request")),
            },
            (State::Handshake, Some(Keyword::Ping)) => {
                self.respond("PONG 1");
                self.state = State::Closed;
                Some(ServerEvent::Ping)
            }
            (State::Handshake, _) => Some(self.fail("Expected MOIN or PING or BAIL")),
            (_, Some(Keyword::Noop)) => {
                self.respond("OKAY");
                None
            }
            (_, Some(Keyword::Push)) => match args(line, 2) {
                None => Some(self.fail("Cannot parse PUSH request")),
                Some(a) => match positive(a[1]) {
                    None => Some(self.fail("Expected number of bytes")),
                    Some(n) if self.max_command_size > 0 && n > self.max_command_size => {
                        Some(self.fail("PUSH data size too large"))
                    }
                    Some(n) => {
                        self.respond("OKAY");
                        self.state = State::Data(n);
                        None
                    }
                },
            },
            (_, _) => Some(self.fail("Expected PUSH or NOOP or QUIT")),
        }
    }

    fn respond(&mut self, line: &str) {
        self.output.extend_from_slice(line.as_bytes());
        self.output.extend_from_slice(b"\r\n");
    }

    fn fail(&mut self, msg: &str) -> ServerEvent {
        self.respond(&format!("FAIL {msg}"));
        ServerEvent::Refused(msg.to_string())
    }

    fn bail(&mut self, msg: &str) -> ServerEvent {
        self.respond(&format!("BAIL {msg}"));
        self.state = State::Closed;
        self.input.clear();
        ServerEvent::ServerBailed(msg.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Moin,
    Ping,
    Push,
    Noop,
    Quit,
    Bail,
}

fn keyword(line: &[u8]) -> Option<Keyword> {
    let k = line.get(..4)?;
    let up = k.to_ascii_uppercase();
    Some(match &up[..] {
        b"MOIN" => Keyword::Moin,
        b"PING" => Keyword::Ping,
        b"PUSH" => Keyword::Push,
        b"NOOP" => Keyword::Noop,
        b"QUIT" => Keyword::Quit,
        b"BAIL" => Keyword::Bail,
        _ => return None,
    })
}

/// Exactly `n` fields separated by single spaces.
fn args(line: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    let v: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    (v.len() == n && v.iter().all(|f| !f.is_empty())).then_some(v)
}

/// A positive decimal number (digits only, fits a `usize`).
fn positive(field: &[u8]) -> Option<usize> {
    if field.is_empty() || field.len() > 18 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: usize = std::str::from_utf8(field).ok()?.parse().ok()?;
    (n > 0).then_some(n)
}

fn valid_session_id(id: &[u8]) -> bool {
    (2..=64).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

/// A message as one printable line (for `FAIL`/`BAIL`).
fn one_line(msg: &str) -> String {
    msg.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// What happened on a client session; drained with [`ClientSession::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server accepted the session (`MOIN`).
    Open,
    /// The command with this index (in [`ClientSession::push`] order) was
    /// accepted (`OKAY`).
    Accepted(usize),
    /// The command with this index was refused with this message (`FAIL`).
    Refused(usize, String),
    /// The server answered `QUIT`; the session is done.
    Done,
    /// The server bailed out, or said something the protocol does not
    /// allow here; the session is closed. Commands not yet answered were
    /// not taken.
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    /// `MOIN` sent.
    Moin,
    /// Idle: next command or `QUIT` may go.
    Ready,
    /// `PUSH` sent for command i.
    Push(usize),
    /// Data of command i sent.
    Data(usize),
    /// `QUIT` sent.
    Quit,
    Closed,
}

/// The client side of one NSCA-ng session. Push commands, [`finish`]
/// when there are no more; feed what the server sends to [`receive`],
/// and send what [`take_output`] returns.
///
/// [`finish`]: ClientSession::finish
/// [`receive`]: ClientSession::receive
/// [`take_output`]: ClientSession::take_output
#[derive(Debug)]
pub struct ClientSession {
    state: ClientState,
    input: Vec<u8>,
    output: Vec<u8>,
    commands: Vec<Vec<u8>>,
    next: usize,
    finishing: bool,
}

impl ClientSession {
    /// A session that opens with `MOIN 1 <session_id>` (2–64 printable
    /// characters; anything else is replaced by a fixed id).
    pub fn new(session_id: &str) -> Self {
        let id = if valid_session_id(session_id.as_bytes()) {
            session_id
        } else {
            "picket"
        };
        ClientSession {
            state: ClientState::Moin,
            input: Vec::new(),
            output: format!("MOIN 1 {id}\r\n").into_bytes(),
            commands: Vec::new(),
            next: 0,
            finishing: false,
        }
    }

    /// Queues a monitoring command (one line, its trailing `\n` included);
    /// returns its index.
    pub fn push(&mut self, command: Vec<u8>) -> usize {
        self.commands.push(command);
        let i = self.commands.len() - 1;
        self.advance();
        i
    }

    /// No more commands: `QUIT` after the last answer.
    pub fn finish(&mut self) {
        self.finishing = true;
        self.advance();
    }

    /// Whether the session is over (done or failed).
    pub fn is_closed(&self) -> bool {
        self.state == ClientState::Closed
    }

    /// Bytes to send to the server; the buffer is emptied.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Bytes received from the server.
    pub fn receive(&mut self, bytes: &[u8]) {
        if self.state != ClientState::Closed {
            self.input.extend_from_slice(bytes);
        }
    }

    /// The next event from buffered input.
    pub fn poll(&mut self) -> Option<ClientEvent> {
        if self.state == ClientState::Closed {
            return None;
        }
        let end = match self.input.iter().position(|&b| b == b'\n') {
            Some(e) => e,
            None if self.input.len() >= MAX_LINE => {
                return Some(self.failed("the server's line is too long".into()));
            }
            None => return None,
        };
        let rest = self.input.split_off(end + 1);
        let mut line = std::mem::replace(&mut self.input, rest);
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let kw = text.get(..4).unwrap_or("");
        let msg = text.get(5..).unwrap_or("").to_string();
        let ev = match (self.state, kw) {
            (_, "BAIL") => return Some(self.failed(format!("Server said: {text}"))),
            (ClientState::Moin, "MOIN") => {
                self.state = ClientState::Ready;
                ClientEvent::Open
            }
            (ClientState::Push(i), "OKAY") => {
                let mut data = self.commands[i].clone();
                self.output.append(&mut data);
                self.state = ClientState::Data(i);
                return self.poll();
            }
            (ClientState::Push(i) | ClientState::Data(i), "FAIL") => {
                self.state = ClientState::Ready;
                ClientEvent::Refused(i, msg)
            }
            (ClientState::Data(i), "OKAY") => {
                self.state = ClientState::Ready;
                ClientEvent::Accepted(i)
            }
            (ClientState::Quit, "OKAY") => {
                self.state = ClientState::Closed;
                return Some(ClientEvent::Done);
            }
            _ => return Some(self.failed(format!("Server said: {text}"))),
        };
        self.advance();
        Some(ev)
    }

    /// Index of the first command not answered yet.
    pub fn unanswered(&self) -> usize {
        match self.state {
            ClientState::Push(i) | ClientState::Data(i) => i,
            _ => self.next,
        }
    }

    fn advance(&mut self) {
        if self.state != ClientState::Ready {
            return;
        }
        if self.next < self.commands.len() {
            let i = self.next;
            self.next += 1;
            self.output
                .extend_from_slice(format!("PUSH {}\r\n", self.commands[i].len()).as_bytes());
            self.state = ClientState::Push(i);
        } else if self.finishing {
            self.output.extend_from_slice(b"QUIT\r\n");
            self.state = ClientState::Quit;
        }
    }

    fn failed(&mut self, why: String) -> ClientEvent {
        self.state = ClientState::Closed;
        ClientEvent::Failed(why)
    }
}

/// Escapes an output for a command line as Debian's client does: a
/// backslash becomes `\\`, a newline `\n` (the command's own trailing
/// newline is added by the caller).
pub fn escape_output(out: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(out.len());
    for &b in out {
        match b {
            b'\\' => v.extend_from_slice(b"\\\\"),
            b'\n' => v.extend_from_slice(b"\\n"),
            _ => v.push(b),
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &mut ServerSession, input: &[u8]) -> (Vec<ServerEvent>, String) {
        s.receive(input);
        let mut evs = Vec::new();
        while let Some(e) = s.poll() {
            let cmd = matches!(e, ServerEvent::Command(_));
            evs.push(e);
            if cmd {
                s.answer(Ok(()));
            }
        }
        (evs, String::from_utf8(s.take_output()).unwrap_or_default())
    }

    #[test]
    fn the_protocol_example_session() {
        let mut s = ServerSession::default();
        let (evs, out) = run(
            &mut s,
            b"MOIN 1 Zm9vYmFy\r\nPUSH 34\r\n[1358980254] ENABLE_NOTIFICATIONS\nQUIT\r\n",
        );
        assert_eq!(
            evs,
            vec![
                ServerEvent::Moin {
                    session_id: "Zm9vYmFy".into()
                },
                ServerEvent::Command(b"[1358980254] ENABLE_NOTIFICATIONS\n".to_vec()),
                ServerEvent::Quit
            ]
        );
        assert_eq!(out, "MOIN 1\r\nOKAY\r\nOKAY\r\nOKAY\r\n");
        assert!(s.is_closed());
    }

    #[test]
    fn keywords_are_case_insensitive_and_lf_is_accepted() {
        let mut s = ServerSession::default();
        let (_, out) = run(&mut s, b"moin 1 ab\nnoop\nNoOp\n");
        assert_eq!(out, "MOIN 1\r\nOKAY\r\nOKAY\r\n");
    }

    #[test]
    fn handshake_errors_are_debians() {
        let mut s = ServerSession::default();
        let (_, out) = run(&mut s, b"PUSH 3\r\nMOIN 1\r\nMOIN 0 ab\r\nMOIN 1 a\r\n");
        assert_eq!(
            out,
            "FAIL Expected MOIN or PING or BAIL\r\nFAIL Cannot parse MOIN request\r\n\
             FAIL Expected protocol version\r\nFAIL Cannot parse MOIN request\r\n"
        );
        assert!(!s.is_closed());
        let (_, out) = run(
            &mut s,
            b"MOIN 1 ok\r\nMOIN 1 ok\r\nPUSH x\r\nPUSH 0\r\nPUSH\r\n",
        );
        assert_eq!(
            out,
            "MOIN 1\r\nFAIL Expected PUSH or NOOP or QUIT\r\nFAIL Expected number of bytes\r\n\
             FAIL Expected number of bytes\r\nFAIL Cannot parse PUSH request\r\n"
        );
    }

    #[test]
    fn push_over_the_limit_is_refused_and_the_session_goes_on() {
        let mut s = ServerSession::new(10);
        let (evs, out) = run(&mut s, b"MOIN 1 ab\r\nPUSH 11\r\nPUSH 10\r\n0123456789");
        assert_eq!(
            out,
            "MOIN 1\r\nFAIL PUSH data size too large\r\nOKAY\r\nOKAY\r\n"
        );
        assert_eq!(evs.len(), 3);
    }

    #[test]
    fn a_long_line_bails() {
        let mut s = ServerSession::default();
        s.receive(&[b'A'; 2000]);
        assert_eq!(
            s.poll(),
            Some(ServerEvent::ServerBailed("Request line too long".into()))
        );
        assert!(s.is_closed());
        assert_eq!(s.take_output(), b"BAIL Request line too long\r\n");
    }

    #[test]
    fn ping_and_bail_close() {
        let mut s = ServerSession::default();
        let (evs, out) = run(&mut s, b"PING 1\r\nMOIN 1 ab\r\n");
        assert_eq!(evs, vec![ServerEvent::Ping]);
        assert_eq!(out, "PONG 1\r\n");
        let mut s = ServerSession::default();
        let (evs, _) = run(&mut s, b"BAIL bye now\r\n");
        assert_eq!(evs, vec![ServerEvent::ClientBailed("bye now".into())]);
    }

    #[test]
    fn a_refused_command_gets_fail_and_the_session_goes_on() {
        let mut s = ServerSession::default();
        s.receive(b"MOIN 1 ab\r\nPUSH 2\r\nx\nNOOP\r\n");
        assert!(matches!(s.poll(), Some(ServerEvent::Moin { .. })));
        assert_eq!(s.poll(), Some(ServerEvent::Command(b"x\n".to_vec())));
        assert_eq!(s.poll(), None, "waits for the answer");
        s.answer(Err("You're not authorized"));
        assert_eq!(s.poll(), None);
        assert_eq!(
            s.take_output(),
            b"MOIN 1\r\nOKAY\r\nFAIL You're not authorized\r\nOKAY\r\n"
        );
    }

    #[test]
    fn client_and_server_talk() {
        let mut c = ClientSession::new("sess1");
        let a = c.push(b"[1] A\n".to_vec());
        let b = c.push(b"[2] B\n".to_vec());
        c.finish();
        let mut s = ServerSession::default();
        let mut events = Vec::new();
        for _ in 0..20 {
            s.receive(&c.take_output());
            while let Some(e) = s.poll() {
                if let ServerEvent::Command(d) = &e {
                    let ok = d.as_slice() == b"[1] A\n";
                    s.answer(if ok { Ok(()) } else { Err("no") });
                }
            }
            c.receive(&s.take_output());
            while let Some(e) = c.poll() {
                events.push(e);
            }
        }
        assert_eq!(
            events,
            vec![
                ClientEvent::Open,
                ClientEvent::Accepted(a),
                ClientEvent::Refused(b, "no".into()),
                ClientEvent::Done
            ]
        );
        assert!(c.is_closed() && s.is_closed());
    }

    #[test]
    fn escaping_is_debians() {
        assert_eq!(escape_output(b"a\nb \\ c"), b"a\\nb \\\\ c");
    }
}
