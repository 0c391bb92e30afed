//! Reading PostgreSQL's binary COPY format (`COPY … TO STDOUT (FORMAT binary)`) as it streams
//! in: raw field bytes, no text escaping to undo, so a hash computed here sees exactly the
//! bytes the server produced.

use crate::{Error, Result};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

#[derive(Debug, Default)]
pub struct Reader {
    buf: Vec<u8>,
    pos: usize,
    header_read: bool,
    ended: bool,
}

fn be_i16(b: &[u8]) -> i16 {
    i16::from_be_bytes([b[0], b[1]])
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl Reader {
    pub fn feed(&mut self, bytes: &[u8]) {
        // Keep the unread tail only: memory stays at about one network chunk.
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    fn header(&mut self) -> Result<bool> {
        let b = &self.buf[self.pos..];
        if b.len() < SIGNATURE.len() + 8 {
            return Ok(false);
        }
        if &b[..SIGNATURE.len()] != SIGNATURE {
            return Err(Error::Refused("not a binary COPY stream".into()));
        }
        let ext = be_i32(&b[SIGNATURE.len() + 4..]) as usize;
        let len = SIGNATURE.len() + 8 + ext;
        if b.len() < len {
            return Ok(false);
        }
        self.pos += len;
        self.header_read = true;
        Ok(true)
    }

    /// The next complete tuple's fields (`None` for SQL NULL), or `None` until more bytes
    /// arrive (and after the trailer).
    pub fn next_tuple(&mut self) -> Result<Option<Vec<Option<&[u8]>>>> {
        if self.ended || (!self.header_read && !self.header()?) {
            return Ok(None);
        }
        let b = &self.buf[self.pos..];
        if b.len() < 2 {
            return Ok(None);
        }
        let count = be_i16(b);
        if count == -1 {
            self.ended = true;
            return Ok(None);
        }
        if count < 0 {
            return Err(Error::Refused(format!("bad COPY field count {count}")));
        }
        // Find the tuple's end first, so nothing is consumed from a partial tuple.
        let mut at = 2;
        let mut spans = Vec::with_capacity(count as usize);
        for _ in 0..count {
            if b.len() < at + 4 {
                return Ok(None);
            }
            let len = be_i32(&b[at..]);
            at += 4;
            if len < 0 {
                spans.push(None);
                continue;
            }
            let len = len as usize;
            if b.len() < at + len {
                return Ok(None);
            }
            spans.push(Some((at, at + len)));
            at += len;
        }
        let start = self.pos;
        self.pos += at;
        let b = &self.buf[start..];
        Ok(Some(
            spans
                .into_iter()
                .map(|s| s.map(|(a, z)| &b[a..z]))
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(tuples: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        for t in tuples {
            out.extend_from_slice(&(t.len() as i16).to_be_bytes());
            for f in t {
                match f {
                    Some(b) => {
                        out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        out.extend_from_slice(b);
                    }
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    #[test]
    fn tuples_come_out_whatever_the_chunking() {
        let tuples = vec![
            vec![Some(&b"12"[..]), Some(&b"a\x1fb\\c\td"[..])],
            vec![Some(&b"7"[..]), None],
            vec![Some(&b""[..]), Some("é😀".as_bytes())],
        ];
        let bytes = stream(&tuples);
        for size in [1, 2, 3, 7, 64, bytes.len()] {
            let mut r = Reader::default();
            let mut got: Vec<Vec<Option<Vec<u8>>>> = Vec::new();
            for chunk in bytes.chunks(size) {
                r.feed(chunk);
                while let Some(t) = r.next_tuple().unwrap() {
                    got.push(t.into_iter().map(|f| f.map(<[u8]>::to_vec)).collect());
                }
            }
            let want: Vec<Vec<Option<Vec<u8>>>> = tuples
                .iter()
                .map(|t| t.iter().map(|f| f.map(<[u8]>::to_vec)).collect())
                .collect();
            assert_eq!(got, want, "chunks of {size}");
        }
    }

    #[test]
    fn the_row_hash_matches_mariadbs_crc32_and_crc32c() {
        // MariaDB 10.11: SELECT CRC32('zdm verify'), CRC32C('zdm verify') → 2547690137, 3670095941
        assert_eq!(
            crate::side::crc64(b"zdm verify"),
            2547690137u64 | (3670095941u64 << 32)
        );
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }
}
