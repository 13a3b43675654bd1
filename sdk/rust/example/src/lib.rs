//! hashing — an example hermes plugin in Rust, with no crates.
//!
//!   sha256  {"text": "..."} -> {"sha256": "<64 hex digits>"}   (of the text's UTF-8 bytes)
//!   reverse {"text": "..."} -> {"text": "..."}                  (reversed by Unicode scalar value)
//!
//! Build (from the repository root; Debian's rustc has the wasm32-wasi standard library):
//!
//!   /usr/bin/rustc --edition 2021 --target wasm32-wasi --crate-type cdylib -O -C strip=debuginfo \
//!       -o sdk/rust/example/hashing.wasm sdk/rust/example/src/lib.rs
//!
//! The `host` module below is everything a crate-less plugin needs: copy it into your own.

mod host {
    //! The hermes host functions this plugin uses (module `extism:host/env`, see abi/README.md)
    //! and safe wrappers. Declare only what you call: an import of a capability the manifest does
    //! not list makes hermes refuse the module. Offsets are handles into the host's scratch
    //! memory, not pointers.

    #[link(wasm_import_module = "extism:host/env")]
    extern "C" {
        fn alloc(len: u64) -> u64;
        fn store_u8(offset: u64, value: u32);
        fn store_u64(offset: u64, value: u64);
        fn input_length() -> u64;
        fn input_load_u8(index: u64) -> u32;
        fn input_load_u64(index: u64) -> u64;
        fn output_set(offset: u64, len: u64);
        fn error_set(offset: u64);
    }

    /// Copies bytes into a new host block and returns its offset (0 for no bytes).
    pub fn alloc_bytes(data: &[u8]) -> u64 {
        if data.is_empty() {
            return 0;
        }
        unsafe {
            let off = alloc(data.len() as u64);
            let mut chunks = data.chunks_exact(8);
            let mut i = 0u64;
            for c in &mut chunks {
                store_u64(off + i, u64::from_le_bytes(c.try_into().unwrap()));
                i += 8;
            }
            for &b in chunks.remainder() {
                store_u8(off + i, b as u32);
                i += 1;
            }
            off
        }
    }

    /// The call's input: the tool's JSON arguments.
    pub fn input() -> Vec<u8> {
        unsafe {
            let n = input_length() as usize;
            let mut buf = Vec::with_capacity(n);
            let mut i = 0;
            while i + 8 <= n {
                buf.extend_from_slice(&input_load_u64(i as u64).to_le_bytes());
                i += 8;
            }
            while i < n {
                buf.push(input_load_u8(i as u64) as u8);
                i += 1;
            }
            buf
        }
    }

    /// Sets the call's output (a JSON value); returns 0 for the tool to return.
    pub fn output(data: &[u8]) -> i32 {
        unsafe { output_set(alloc_bytes(data), data.len() as u64) };
        0
    }

    /// Sets the call's error message; returns 1 for the tool to return.
    pub fn error(message: &str) -> i32 {
        unsafe { error_set(alloc_bytes(message.as_bytes())) };
        1
    }
}

mod json {
    //! Just enough JSON: find one string member of the top-level object, and quote a string.

    pub enum Member {
        Found(String),
        Missing,
        NotAString,
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    type Result<T> = std::result::Result<T, ()>;

    impl<'a> Parser<'a> {
        fn ws(&mut self) {
            while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            }
        }

        fn peek(&self) -> Option<u8> {
            self.s.get(self.i).copied()
        }

        fn expect(&mut self, b: u8) -> Result<()> {
            if self.peek() == Some(b) {
                self.i += 1;
                Ok(())
            } else {
                Err(())
            }
        }

        fn hex4(&mut self) -> Result<u32> {
            let digits = self.s.get(self.i..self.i + 4).ok_or(())?;
            let mut v = 0;
            for &d in digits {
                v = v << 4 | (d as char).to_digit(16).ok_or(())?;
            }
            self.i += 4;
            Ok(v)
        }

        /// A string at self.i (which must be '"'), decoded. A lone surrogate becomes U+FFFD, as
        /// in Go's encoding/json.
        fn string(&mut self) -> Result<String> {
            self.expect(b'"')?;
            let mut out: Vec<u8> = Vec::new();
            loop {
                let b = self.peek().ok_or(())?;
                self.i += 1;
                match b {
                    b'"' => return String::from_utf8(out).map_err(|_| ()),
                    0..=0x1f => return Err(()), // control characters must be escaped
                    b'\\' => {
                        let e = self.peek().ok_or(())?;
                        self.i += 1;
                        let c = match e {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let hi = self.hex4()?;
                                let cp = if (0xD800..0xDC00).contains(&hi) {
                                    let save = self.i;
                                    let lo = if self.s.get(self.i..self.i + 2) == Some(b"\\u") {
                                        self.i += 2;
                                        Some(self.hex4()?)
                                    } else {
                                        None
                                    };
                                    match lo {
                                        Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                        }
                                        _ => {
                                            self.i = save; // decode the next escape on its own
                                            0xFFFD
                                        }
                                    }
                                } else {
                                    hi
                                };
                                char::from_u32(cp).unwrap_or('\u{FFFD}')
                            }
                            _ => return Err(()),
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => out.push(b),
                }
            }
        }

        fn literal(&mut self, word: &[u8]) -> Result<()> {
            if self.s.get(self.i..self.i + word.len()) == Some(word) {
                self.i += word.len();
                Ok(())
            } else {
                Err(())
            }
        }

        fn digits(&mut self) -> usize {
            let start = self.i;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            self.i - start
        }

        fn number(&mut self) -> Result<()> {
            if self.peek() == Some(b'-') {
                self.i += 1;
            }
            let first = self.peek();
            let n = self.digits();
            if n == 0 || (first == Some(b'0') && n > 1) {
                return Err(());
            }
            if self.peek() == Some(b'.') {
                self.i += 1;
                if self.digits() == 0 {
                    return Err(());
                }
            }
            if matches!(self.peek(), Some(b'e' | b'E')) {
                self.i += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.i += 1;
                }
                if self.digits() == 0 {
                    return Err(());
                }
            }
            Ok(())
        }

        /// Skips (and checks) any value.
        fn value(&mut self, depth: usize) -> Result<()> {
            if depth > 128 {
                return Err(());
            }
            self.ws();
            match self.peek().ok_or(())? {
                b'"' => self.string().map(|_| ()),
                b't' => self.literal(b"true"),
                b'f' => self.literal(b"false"),
                b'n' => self.literal(b"null"),
                open @ (b'{' | b'[') => {
                    let close = if open == b'{' { b'}' } else { b']' };
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(close) {
                        self.i += 1;
                        return Ok(());
                    }
                    loop {
                        if open == b'{' {
                            self.ws();
                            self.string()?;
                            self.ws();
                            self.expect(b':')?;
                        }
                        self.value(depth + 1)?;
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(c) if c == close => {
                                self.i += 1;
                                return Ok(());
                            }
                            _ => return Err(()),
                        }
                    }
                }
                _ => self.number(),
            }
        }
    }

    /// Finds the member `key` of the JSON object `doc`. The whole document is checked: anything
    /// that is not one JSON object is an error. A repeated key: the last one wins.
    pub fn string_member(doc: &[u8], key: &str) -> std::result::Result<Member, ()> {
        let mut p = Parser { s: doc, i: 0 };
        let mut found = Member::Missing;
        p.ws();
        p.expect(b'{')?;
        p.ws();
        if p.peek() == Some(b'}') {
            p.i += 1;
        } else {
            loop {
                p.ws();
                let name = p.string()?;
                p.ws();
                p.expect(b':')?;
                p.ws();
                if name == key {
                    found = if p.peek() == Some(b'"') {
                        Member::Found(p.string()?)
                    } else {
                        p.value(1)?;
                        Member::NotAString
                    };
                } else {
                    p.value(1)?;
                }
                p.ws();
                match p.peek() {
                    Some(b',') => p.i += 1,
                    Some(b'}') => {
                        p.i += 1;
                        break;
                    }
                    _ => return Err(()),
                }
            }
        }
        p.ws();
        if p.i != doc.len() {
            return Err(());
        }
        Ok(found)
    }

    /// Appends s as a JSON string literal.
    pub fn quote(out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push_str("\\u00");
                    out.push(HEX[(c as usize) >> 4] as char);
                    out.push(HEX[(c as usize) & 15] as char);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

mod sha2 {
    //! SHA-256 (FIPS 180-4).

    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    fn compress(h: &mut [u32; 8], block: &[u8]) {
        let mut w = [0u32; 64];
        for (t, word) in block.chunks_exact(4).enumerate() {
            w[t] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for t in 16..64 {
            let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
            let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16].wrapping_add(s0).wrapping_add(w[t - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = *h;
        for t in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[t]).wrapping_add(w[t]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }

    pub fn digest(data: &[u8]) -> [u8; 32] {
        let mut h: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
        ];
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            compress(&mut h, block);
        }
        // Padding: 0x80, zeros, then the length in bits as a big-endian u64; one or two blocks.
        let rest = blocks.remainder();
        let mut tail = [0u8; 128];
        tail[..rest.len()].copy_from_slice(rest);
        tail[rest.len()] = 0x80;
        let n = if rest.len() < 56 { 64 } else { 128 };
        tail[n - 8..n].copy_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
        for block in tail[..n].chunks_exact(64) {
            compress(&mut h, block);
        }
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    pub fn hex(bytes: &[u8]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(bytes.len() * 2);
        for &b in bytes {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        s
    }
}

// WASI reactor: run the constructors of the C library under std once per instance, when hermes
// calls _initialize, as C's crt1-reactor.o does. Without an _initialize export wasm-ld treats the
// cdylib as a command and wraps every export in constructor and destructor calls.
extern "C" {
    fn __wasm_call_ctors();
}

#[no_mangle]
pub extern "C" fn _initialize() {
    unsafe { __wasm_call_ctors() }
}

const DESCRIPTION: &str = r#"{"tools":[{"name":"sha256","description":"SHA-256 of a text (its UTF-8 bytes), as 64 lowercase hex digits","parameters":{"type":"object","properties":{"text":{"type":"string","description":"The text to hash"}},"required":["text"]}},{"name":"reverse","description":"Reverse a text, character by character (Unicode scalar values)","parameters":{"type":"object","properties":{"text":{"type":"string","description":"The text to reverse"}},"required":["text"]}}]}"#;

#[no_mangle]
pub extern "C" fn describe() -> i32 {
    host::output(DESCRIPTION.as_bytes())
}

/// The "text" argument, or the error message for the caller.
fn text_arg() -> Result<String, &'static str> {
    match json::string_member(&host::input(), "text") {
        Ok(json::Member::Found(s)) => Ok(s),
        Ok(json::Member::Missing) => Err("missing argument \"text\""),
        Ok(json::Member::NotAString) => Err("argument \"text\" must be a string"),
        Err(()) => Err("arguments are not a valid JSON object"),
    }
}

#[no_mangle]
pub extern "C" fn sha256() -> i32 {
    match text_arg() {
        Ok(text) => {
            let out = format!("{{\"sha256\":\"{}\"}}", sha2::hex(&sha2::digest(text.as_bytes())));
            host::output(out.as_bytes())
        }
        Err(msg) => host::error(msg),
    }
}

#[no_mangle]
pub extern "C" fn reverse() -> i32 {
    match text_arg() {
        Ok(text) => {
            let reversed: String = text.chars().rev().collect();
            let mut out = String::with_capacity(reversed.len() + 12);
            out.push_str("{\"text\":");
            json::quote(&mut out, &reversed);
            out.push('}');
            host::output(out.as_bytes())
        }
        Err(msg) => host::error(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_vectors() {
        let cases: [(&[u8], &str); 4] = [
            (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
            (
                b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(sha2::hex(&sha2::digest(input)), want);
        }
        let million = vec![b'a'; 1_000_000];
        assert_eq!(
            sha2::hex(&sha2::digest(&million)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn json_member() {
        let get = |doc: &str| match json::string_member(doc.as_bytes(), "text") {
            Ok(json::Member::Found(s)) => Ok(Some(s)),
            Ok(_) => Ok(None),
            Err(()) => Err(()),
        };
        assert_eq!(get(r#"{"text":"a\"b\\c\nd\t\u00e9\ud83d\ude00"}"#), Ok(Some("a\"b\\c\nd\té😀".into())));
        assert_eq!(get(r#" { "x" : [1, {"text": 2}], "text" : "" } "#), Ok(Some("".into())));
        assert_eq!(get(r#"{"text":1}"#), Ok(None));
        assert_eq!(get(r#"{}"#), Ok(None));
        assert_eq!(get(r#"{"text":"\ud800x"}"#), Ok(Some("\u{FFFD}x".into())));
        for bad in [r#"{"text":"a}"#, r#"{"text":"\x"}"#, r#"{"text":"a"} x"#, r#"["text"]"#, "{\"text\":\"\n\"}", r#"{"a":01}"#, ""] {
            assert_eq!(get(bad), Err(()), "{}", bad);
        }
        let mut s = String::new();
        json::quote(&mut s, "a\"\\\n\u{1}é");
        assert_eq!(s, r#""a\"\\\n\u0001é""#);
    }
}
