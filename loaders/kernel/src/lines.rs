//! The load's compiled pass (loaders/validate.py, `RecordValidator.accepted_block`): JSON lines → the ids
//! and bytes of the records certainly valid against their flat schema, for a sink that sends JSON as it is
//! (`check`), or the same records as BSON documents with their id first, for one that stores documents
//! (`check_bson`: MongoDB; the bytes pymongo would encode from the parsed line, see `encode_document`).
//!
//! Like the converter's kernel, it decides only what it is sure of: a line it accepts is one the schema's
//! msgspec struct accepts too, with the same id. Anything else (a field it does not know or sees twice, an
//! escape `\u`, a nested value, a number outside 64 bits or a bound, bytes that are not UTF-8, a key that is
//! neither a plain string nor an integer) is handed back untouched, with its line, to the Python check, which
//! decides and words the reason. tests/loaders/test_lines_kernel.py holds the two against each other.

use std::borrow::Cow;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

const INTEGER: u8 = 1;
const NUMBER: u8 = 2;
const STRING: u8 = 4;
const BOOLEAN: u8 = 8;
const NULL: u8 = 16;

struct Field {
    name: Vec<u8>,
    types: u8,
    required: bool,
    minimum: Option<f64>,
    maximum: Option<f64>,
}

/// A line that is not the kernel's to decide.
struct Defer;

type Step<T> = Result<T, Defer>;

/// One value as the line wrote it: what the id and the bounds need.
#[derive(Clone, Copy)]
enum Value<'a> {
    Int(i64, &'a [u8]),
    Float(f64),
    Str(&'a [u8]),
    /// a string with a two-character escape, as written between its quotes: fine as a value, not as a key
    EscapedStr(&'a [u8]),
    Bool(bool),
    Null,
}

/// One dataset's check: its schema's properties (every one flat), which are required, and the key fields.
#[pyclass(frozen)]
pub struct LineChecker {
    fields: Vec<Field>,
    key: Vec<usize>,
    /// bit i set: property i is required
    required: u64,
    /// per property, its place among the key fields, if it is one
    key_slot: Vec<Option<usize>>,
}

/// What `check` made of a block: the accepted records' ids and JSON (the line from its `{`, without its line
/// break), the lines left to the caller as (line number, how many accepted records come before it, bytes), and
/// how many lines it went through.
type Checked<'py> =
    (Vec<Bound<'py, PyBytes>>, Vec<Bound<'py, PyBytes>>, Vec<(i64, usize, Bound<'py, PyBytes>)>, usize);

#[pymethods]
impl LineChecker {
    /// `fields`: (name, JSON Schema type names, required, minimum, maximum) per property; `key`: the names
    /// whose values make a record's id (joined by "-", as schemas.DatasetSchema.key_id does).
    #[new]
    fn new(fields: Vec<(String, Vec<String>, bool, Option<f64>, Option<f64>)>, key: Vec<String>) -> PyResult<Self> {
        if fields.len() > 64 {
            return Err(PyValueError::new_err("more than 64 properties: not for the kernel"));
        }
        let mut specs = Vec::with_capacity(fields.len());
        for (name, type_names, required, minimum, maximum) in fields {
            if name.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
                return Err(PyValueError::new_err(format!("property {name:?} needs escaping in JSON")));
            }
            let mut types = 0;
            for type_name in &type_names {
                types |= match type_name.as_str() {
                    "integer" => INTEGER,
                    "number" => NUMBER,
                    "string" => STRING,
                    "boolean" => BOOLEAN,
                    "null" => NULL,
                    other => return Err(PyValueError::new_err(format!("type {other:?} is not for the kernel"))),
                };
            }
            specs.push(Field { name: name.into_bytes(), types, required, minimum, maximum });
        }
        let mut positions = Vec::with_capacity(key.len());
        for name in &key {
            match specs.iter().position(|f| f.name == name.as_bytes()) {
                Some(position) => positions.push(position),
                None => return Err(PyValueError::new_err(format!("key field {name:?} is not a property"))),
            }
        }
        let required = specs.iter().enumerate().filter(|(_, f)| f.required).fold(0, |mask, (i, _)| mask | 1 << i);
        let key_slot = (0..specs.len()).map(|i| positions.iter().position(|&k| k == i)).collect();
        Ok(LineChecker { fields: specs, key: positions, required, key_slot })
    }

    /// Up to `limit` lines of `block` (whole lines; its first is line `first_line` of the file): see
    /// `Checked`, each accepted line's JSON after `prefix`. Lines holding only whitespace are skipped. The
    /// check runs without the GIL.
    fn check<'py>(
        &self,
        py: Python<'py>,
        block: &[u8],
        first_line: i64,
        limit: usize,
        prefix: &[u8],
    ) -> PyResult<Checked<'py>> {
        let (spans, _) = py.detach(|| self.check_block(block, first_line, limit, None));
        checked(py, block, block, prefix, spans)
    }

    /// `check`, each accepted record as a BSON document: `id_field` (a string, the record's id) first, then
    /// the line's fields in its order, typed as pymongo types what orjson parses from the line: an integer
    /// as int32 when it fits, else int64; a fraction or exponent as a double; strings unescaped.
    fn check_bson<'py>(
        &self,
        py: Python<'py>,
        block: &[u8],
        first_line: i64,
        limit: usize,
        id_field: &str,
    ) -> PyResult<Checked<'py>> {
        let id_name = id_field.as_bytes();
        if id_name.contains(&0) || self.fields.iter().any(|f| f.name == id_name) {
            return Err(PyValueError::new_err(format!("{id_field:?} is a property or not a BSON key")));
        }
        let (spans, docs) = py.detach(|| self.check_block(block, first_line, limit, Some(id_name)));
        checked(py, block, &docs, b"", spans)
    }
}

/// The Python side of a block's spans: accepted bodies cut from `bodies` (the block, or the documents
/// written), each after `prefix`; the lines left cut from the block.
fn checked<'py>(py: Python<'py>, block: &[u8], bodies: &[u8], prefix: &[u8], spans: Spans) -> PyResult<Checked<'py>> {
    let (accepted, deferred, lines) = spans;
    let ids = accepted
        .iter()
        .map(|(id, _, _)| match id {
            Id::InBlock(start, end) => PyBytes::new(py, &block[*start..*end]),
            Id::Joined(bytes) => PyBytes::new(py, bytes),
        })
        .collect();
    let values = accepted
        .iter()
        .map(|&(_, start, end)| {
            PyBytes::new_with(py, prefix.len() + end - start, |out| {
                out[..prefix.len()].copy_from_slice(prefix);
                out[prefix.len()..].copy_from_slice(&bodies[start..end]);
                Ok(())
            })
        })
        .collect::<PyResult<_>>()?;
    let left = deferred
        .into_iter()
        .map(|(line, before, start, end)| (line, before, PyBytes::new(py, &block[start..end])))
        .collect();
    Ok((ids, values, left, lines))
}

/// (id, start, end) of each accepted line's JSON (or document); (line, accepted before it, start, end) of each
/// left; lines.
type Spans = (Vec<(Id, usize, usize)>, Vec<(i64, usize, usize, usize)>, usize);

/// A record's id: where the block holds it as it is (one key value), or the key values joined (a Vec per line
/// was an allocation and a free per record).
enum Id {
    InBlock(usize, usize),
    Joined(Vec<u8>),
}

impl Id {
    fn of(id: Cow<[u8]>, block: &[u8]) -> Id {
        match id {
            // a slice of the block's line: its place in the block from the two addresses
            Cow::Borrowed(part) => {
                let start = part.as_ptr() as usize - block.as_ptr() as usize;
                Id::InBlock(start, start + part.len())
            }
            Cow::Owned(joined) => Id::Joined(joined),
        }
    }
}

impl LineChecker {
    /// The block's spans; with `bson_id` (the id's field name), the accepted records' documents too, which
    /// the accepted spans then point into.
    fn check_block(&self, block: &[u8], first_line: i64, limit: usize, bson_id: Option<&[u8]>) -> (Spans, Vec<u8>) {
        let mut accepted = Vec::with_capacity(block.len() / 160);
        let mut deferred = Vec::new();
        let mut docs = Vec::with_capacity(if bson_id.is_some() { block.len() + block.len() / 4 } else { 0 });
        let mut values = Vec::with_capacity(self.fields.len());
        // once for the block (every line of valid UTF-8 is then valid too: a line break is never inside a
        // character); per line only when the block has a broken byte somewhere
        let block_is_utf8 = std::str::from_utf8(block).is_ok();
        let mut order: Vec<usize> = (0..=self.fields.len()).collect();
        let mut start = 0;
        let mut line = first_line;
        while start < block.len() && ((line - first_line) as usize) < limit {
            let end = memchr::memchr(b'\n', &block[start..]).map_or(block.len(), |at| start + at);
            let mut body_end = end;
            if body_end > start && block[body_end - 1] == b'\r' {
                body_end -= 1;
            }
            let text = &block[start..body_end];
            if !text.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)) {
                values.clear();
                match self.check_line(text, &mut values, bson_id.is_some(), block_is_utf8, &mut order) {
                    Ok(id) => match bson_id {
                        Some(id_name) => {
                            let at = docs.len();
                            encode_document(&mut docs, id_name, &id, &values, &self.fields);
                            accepted.push((Id::of(id, block), at, docs.len()));
                        }
                        // from its `{`: a sink may splice a field in right after it
                        None => accepted.push((Id::of(id, block), start + skip_ws(text, 0), body_end)),
                    },
                    Err(Defer) => deferred.push((line, accepted.len(), start, (end + 1).min(block.len()))),
                }
            }
            start = end + 1;
            line += 1;
        }
        ((accepted, deferred, (line - first_line) as usize), docs)
    }

    /// The record's id when the line is one flat JSON object the schema certainly accepts; with `collect`,
    /// its fields' values pushed onto `values` (property index, value) in the line's order. `utf8`: the caller
    /// knows the line is valid UTF-8.
    /// `order`: which field followed the start (slot 0) and each field (slot index + 1) on the lines before: a
    /// file's lines hold their fields in one order, tried first (the properties come here sorted by name).
    fn check_line<'a>(
        &self,
        text: &'a [u8],
        values: &mut Vec<(usize, Value<'a>)>,
        collect: bool,
        utf8: bool,
        order: &mut [usize],
    ) -> Step<Cow<'a, [u8]>> {
        if !utf8 && std::str::from_utf8(text).is_err() {
            return Err(Defer);
        }
        let mut at = skip_ws(text, 0);
        expect(text, &mut at, b'{')?;
        let mut seen: u64 = 0;
        let mut after = 0; // the slot of `order` that says which field comes next: 0 at the start
        let mut key_values: [Option<Value>; 4] = [None; 4];
        if self.key.len() > key_values.len() {
            return Err(Defer);
        }
        at = skip_ws(text, at);
        if text.get(at) == Some(&b'}') {
            at += 1;
        } else {
            loop {
                let index = self.field_at(text, &mut at, order[after])?;
                order[after] = index;
                after = index + 1;
                if seen & (1 << index) != 0 {
                    return Err(Defer); // a field twice: which one counts is msgspec's to say
                }
                seen |= 1 << index;
                at = skip_ws(text, at);
                expect(text, &mut at, b':')?;
                at = skip_ws(text, at);
                let value = parse_value(text, &mut at)?;
                self.fits(&self.fields[index], value)?;
                if let Some(k) = self.key_slot[index] {
                    key_values[k] = Some(value);
                }
                if collect {
                    values.push((index, value));
                }
                at = skip_ws(text, at);
                match text.get(at) {
                    Some(b',') => at = skip_ws(text, at + 1),
                    Some(b'}') => {
                        at += 1;
                        break;
                    }
                    _ => return Err(Defer),
                }
            }
        }
        if skip_ws(text, at) != text.len() {
            return Err(Defer);
        }
        if self.required & !seen != 0 {
            return Err(Defer); // a required field missing
        }
        self.id(&key_values[..self.key.len()])
    }

    /// The index of the property named at `at` (a plain string, no escapes), past its closing quote; the
    /// one at `expected` is tried first.
    fn field_at(&self, text: &[u8], at: &mut usize, expected: usize) -> Step<usize> {
        expect(text, at, b'"')?;
        if let Some(field) = self.fields.get(expected) {
            // the name the schema's order expects, compared where it stands (names need no escaping)
            let end = *at + field.name.len();
            if text.get(*at..end).is_some_and(|written| same(written, &field.name)) && text.get(end) == Some(&b'"') {
                *at = end + 1;
                return Ok(expected);
            }
        }
        let rest = &text[*at..];
        let close = memchr::memchr2(b'"', b'\\', rest).ok_or(Defer)?;
        if rest[close] != b'"' {
            return Err(Defer);
        }
        let name = &rest[..close];
        *at += close + 1;
        self.fields.iter().position(|f| f.name == name).ok_or(Defer)
    }

    fn fits(&self, field: &Field, value: Value) -> Step<()> {
        let ok = match value {
            Value::Int(n, _) => field.types & (INTEGER | NUMBER) != 0 && int_within(field, n),
            Value::Float(x) => field.types & NUMBER != 0 && within(field, x),
            Value::Str(_) | Value::EscapedStr(_) => field.types & STRING != 0,
            Value::Bool(_) => field.types & BOOLEAN != 0,
            Value::Null => field.types & NULL != 0,
        };
        if ok {
            Ok(())
        } else {
            Err(Defer)
        }
    }

    /// The id as Python's `str()` of each key value, joined by "-": integers as written (JSON's are
    /// canonical, but for "-0"), strings as they are; any other key value is left to Python.
    fn id<'a>(&self, values: &[Option<Value<'a>>]) -> Step<Cow<'a, [u8]>> {
        if let [Some(value)] = values {
            return match value {
                Value::Int(_, digits) if *digits != b"-0" => Ok(Cow::Borrowed(digits)),
                Value::Str(s) => Ok(Cow::Borrowed(s)),
                _ => Err(Defer),
            };
        }
        let mut id = Vec::with_capacity(24);
        for (n, value) in values.iter().enumerate() {
            if n > 0 {
                id.push(b'-');
            }
            match value {
                Some(Value::Int(_, digits)) if *digits != b"-0" => id.extend_from_slice(digits),
                Some(Value::Str(s)) => id.extend_from_slice(s),
                _ => return Err(Defer), // missing, null, a float or a boolean: Python's to decide
            }
        }
        Ok(Cow::Owned(id))
    }
}

/// Byte-wise equality for a short name: the library's slice comparison calls memcmp, and the call costs more
/// than comparing a dozen bytes (memcmp was 4-10% of the check in perf).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(true, |equal, (x, y)| equal & (x == y))
}

fn within(field: &Field, x: f64) -> bool {
    field.minimum.is_none_or(|m| x >= m) && field.maximum.is_none_or(|m| x <= m)
}

/// `within` for an integer, compared exactly: with an integral bound as an integer, with any other as a
/// double only where the integer is one exactly (up to 2^53); beyond that it is not the kernel's to decide.
fn int_within(field: &Field, n: i64) -> bool {
    let exact = |bound: f64| bound.fract() == 0.0 && bound.abs() < 9.2e18;
    let small = n.unsigned_abs() <= 1 << 53;
    let above = |m: f64| if exact(m) { n >= m as i64 } else { small && n as f64 >= m };
    let below = |m: f64| if exact(m) { n <= m as i64 } else { small && n as f64 <= m };
    field.minimum.is_none_or(above) && field.maximum.is_none_or(below)
}

fn skip_ws(text: &[u8], mut at: usize) -> usize {
    while at < text.len() && matches!(text[at], b' ' | b'\t' | b'\r') {
        at += 1;
    }
    at
}

fn expect(text: &[u8], at: &mut usize, byte: u8) -> Step<()> {
    if text.get(*at) == Some(&byte) {
        *at += 1;
        Ok(())
    } else {
        Err(Defer)
    }
}

fn parse_value<'a>(text: &'a [u8], at: &mut usize) -> Step<Value<'a>> {
    match text.get(*at) {
        Some(b'"') => parse_string(text, at),
        Some(b't') => literal(text, at, b"true", Value::Bool(true)),
        Some(b'f') => literal(text, at, b"false", Value::Bool(false)),
        Some(b'n') => literal(text, at, b"null", Value::Null),
        Some(b'-' | b'0'..=b'9') => parse_number(text, at),
        _ => Err(Defer), // an object, an array, or not JSON
    }
}

fn literal<'a>(text: &'a [u8], at: &mut usize, word: &[u8], value: Value<'a>) -> Step<Value<'a>> {
    if text[*at..].starts_with(word) {
        *at += word.len();
        Ok(value)
    } else {
        Err(Defer)
    }
}

/// A string with no escape but the two-character ones, no control character; the content as written.
fn parse_string<'a>(text: &'a [u8], at: &mut usize) -> Step<Value<'a>> {
    let start = *at + 1;
    let mut i = start;
    let mut escaped = false;
    loop {
        i = special_byte(text, i).ok_or(Defer)?;
        if text[i] == b'"' {
            break;
        }
        if text[i] < 0x20 {
            return Err(Defer);
        }
        match text.get(i + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                escaped = true;
                i += 2;
            }
            _ => return Err(Defer), // \u (a surrogate may be lone) or not JSON
        }
    }
    *at = i + 1;
    let content = &text[start..i];
    Ok(if escaped { Value::EscapedStr(content) } else { Value::Str(content) })
}

/// The place of the first quote, backslash or control character at or after `from`: eight bytes at a time
/// (string contents are most of a line's bytes), the rest one by one.
fn special_byte(text: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // high bit of each byte that is zero; a byte above a true one may be flagged too, never one below it,
    // so the lowest flag is exact
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = from;
    while let Some(chunk) = text.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let hits = zero_bytes(x ^ (ONES * u64::from(b'"'))) | zero_bytes(x ^ (ONES * u64::from(b'\\'))) | below_space;
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    text.get(i..)?.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|p| i + p)
}

/// JSON's number grammar exactly: an integer within 64 bits as itself, anything with a fraction or an
/// exponent as the nearest double (Rust's parse rounds correctly, as msgspec's does); a non-finite one deferred.
fn parse_number<'a>(text: &'a [u8], at: &mut usize) -> Step<Value<'a>> {
    let start = *at;
    let mut i = start;
    if text.get(i) == Some(&b'-') {
        i += 1;
    }
    let digits = count_digits(text, i);
    if digits == 0 || (text[i] == b'0' && digits > 1) {
        return Err(Defer);
    }
    i += digits;
    let mut integer = true;
    if text.get(i) == Some(&b'.') {
        let fraction = count_digits(text, i + 1);
        if fraction == 0 {
            return Err(Defer);
        }
        i += 1 + fraction;
        integer = false;
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exponent = count_digits(text, i);
        if exponent == 0 {
            return Err(Defer);
        }
        i += exponent;
        integer = false;
    }
    *at = i;
    let literal = &text[start..i];
    if integer && digits <= 18 {
        // at most 18 digits cannot overflow 64 bits: summed here, without a str and a general parse
        let magnitude = literal[literal.len() - digits..].iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        return Ok(Value::Int(if literal[0] == b'-' { -magnitude } else { magnitude }, literal));
    }
    let literal_str = std::str::from_utf8(literal).map_err(|_| Defer)?;
    if integer {
        let n: i64 = literal_str.parse().map_err(|_| Defer)?; // beyond 64 bits: Python's to decide
        return Ok(Value::Int(n, literal));
    }
    let x: f64 = literal_str.parse().map_err(|_| Defer)?;
    if x.is_finite() {
        Ok(Value::Float(x))
    } else {
        Err(Defer)
    }
}

fn count_digits(text: &[u8], from: usize) -> usize {
    text.get(from..).map_or(0, |rest| rest.iter().take_while(|b| b.is_ascii_digit()).count())
}

/// One BSON document: `id_name` = `id` (a string) first, then `values` under their properties' names. What
/// pymongo's encoder writes for the dict orjson parses from the line with the id put first.
fn encode_document(out: &mut Vec<u8>, id_name: &[u8], id: &[u8], values: &[(usize, Value)], fields: &[Field]) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    put_string(out, id_name, id);
    for &(index, value) in values {
        let name = &fields[index].name;
        match value {
            Value::Int(n, _) => match i32::try_from(n) {
                Ok(small) => put_element(out, 0x10, name, &small.to_le_bytes()),
                Err(_) => put_element(out, 0x12, name, &n.to_le_bytes()),
            },
            Value::Float(x) => put_element(out, 0x01, name, &x.to_le_bytes()),
            Value::Str(s) => put_string(out, name, s),
            Value::EscapedStr(raw) => {
                put_element(out, 0x02, name, &[0; 4]);
                let at = out.len();
                unescape(out, raw);
                out.push(0);
                let size = (out.len() - at) as i32;
                out[at - 4..at].copy_from_slice(&size.to_le_bytes());
            }
            Value::Bool(b) => put_element(out, 0x08, name, &[b as u8]),
            Value::Null => put_element(out, 0x0a, name, &[]),
        }
    }
    out.push(0);
    let size = (out.len() - start) as i32;
    out[start..start + 4].copy_from_slice(&size.to_le_bytes());
}

/// type byte, name (a C string: property names hold no NUL), then the value's bytes
fn put_element(out: &mut Vec<u8>, kind: u8, name: &[u8], value: &[u8]) {
    out.push(kind);
    out.extend_from_slice(name);
    out.push(0);
    out.extend_from_slice(value);
}

fn put_string(out: &mut Vec<u8>, name: &[u8], s: &[u8]) {
    put_element(out, 0x02, name, &((s.len() + 1) as i32).to_le_bytes());
    out.extend_from_slice(s);
    out.push(0);
}

/// A string's content with its two-character escapes undone (`parse_string` defers any other).
fn unescape(out: &mut Vec<u8>, raw: &[u8]) {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        out.push(match raw[i + 1] {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            other => other, // " \\ /
        });
        i += 2;
    }
}
