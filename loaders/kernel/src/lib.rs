//! The converter's compiled pass (loaders/convert.py): CSV rows → typed JSON lines, one pass over the bytes.
//!
//! The kernel converts only the rows it is sure of. Anything it does not fully understand (a ragged row,
//! bytes that are not UTF-8, a quoted line break, padding to strip, a value that does not parse or breaks a
//! bound, a missing required value) it hands back untouched, with its line number, to the polars path, which
//! decides and words the reason. So the kernel never rejects a row itself, and its rows equal the polars
//! path's value for value: tests/loaders/test_convert_kernel.py holds the two against each other.

use memchr::{memchr, memchr_iter};
use std::ffi::{c_int, c_void};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Money,
    YesNo,
    MonthYear,
    Datetime,
    Zip,
    Str,
}

impl Kind {
    fn from_name(name: &str) -> PyResult<Kind> {
        Ok(match name {
            "int" => Kind::Int,
            "float" => Kind::Float,
            "money" => Kind::Money,
            "yes_no" => Kind::YesNo,
            "month_year" => Kind::MonthYear,
            "datetime" => Kind::Datetime,
            "zip" => Kind::Zip,
            "string" => Kind::Str,
            other => return Err(PyValueError::new_err(format!("unknown x-parse {other:?}"))),
        })
    }
}

struct FieldSpec {
    column: usize,
    kind: Kind,
    nullable: bool,
    minimum: Option<f64>,
    maximum: Option<f64>,
    /// `{"name":` for the first field, `,"name":` after it: the JSON key, escaped by the caller
    prefix: Vec<u8>,
}

/// One dataset's conversion: the header's column count, the schema's fields in output order, and the
/// strings the CSV reader takes for null (pyarrow's defaults, passed in so that both paths agree).
#[pyclass(frozen)]
struct Kernel {
    columns: usize,
    fields: Vec<FieldSpec>,
    null_values: Vec<Vec<u8>>,
    /// per first byte, whether a null value starts with it: most values are told apart by that byte alone
    null_first: [bool; 256],
    /// output buffers Python has written and dropped, kept for the next chunks: a fresh 25 MB buffer per chunk
    /// cost its page faults again each time (sys time as large as the conversion's own at 13M rows)
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// A row the kernel leaves to the polars path: its first line and its bytes' span in the chunk.
struct Deferred {
    line: i64,
    start: usize,
    end: usize,
}

/// A value that is not the kernel's to decide.
struct Defer;

type Step<T> = Result<T, Defer>;

#[pymethods]
impl Kernel {
    /// `fields`: (column index, x-parse, nullable, minimum, maximum, JSON key prefix) per schema field.
    #[new]
    fn new(
        columns: usize,
        fields: Vec<(usize, String, bool, Option<f64>, Option<f64>, Vec<u8>)>,
        null_values: Vec<Vec<u8>>,
    ) -> PyResult<Self> {
        let mut specs = Vec::with_capacity(fields.len());
        for (column, parse, nullable, minimum, maximum, prefix) in fields {
            if column >= columns {
                return Err(PyValueError::new_err(format!("column {column} is beyond the header's {columns}")));
            }
            let kind = Kind::from_name(&parse)?;
            specs.push(FieldSpec { column, kind, nullable, minimum, maximum, prefix });
        }
        let mut null_first = [false; 256];
        for null in null_values.iter().filter(|null| !null.is_empty()) {
            null_first[usize::from(null[0])] = true;
        }
        Ok(Kernel { columns, fields: specs, null_values, null_first, spare: Arc::default() })
    }

    /// (JSON lines of the rows converted, how many, [(line, row bytes)] of the rows left to the caller) for a
    /// chunk of whole CSV rows whose first row is on file line `first_line`. Runs without the GIL.
    fn convert<'py>(
        &self,
        py: Python<'py>,
        chunk: &[u8],
        first_line: i64,
    ) -> (JsonLines, usize, Vec<(i64, Bound<'py, PyBytes>)>) {
        let (out, written, deferred) = py.detach(|| self.convert_chunk(chunk, first_line));
        let rows = deferred
            .iter()
            .map(|d| (d.line, PyBytes::new(py, &chunk[d.start..d.end])))
            .collect();
        (JsonLines { data: out, spare: Arc::clone(&self.spare) }, written, rows)
    }
}

/// The converted rows' JSON lines, handed to Python as a read-only buffer: `file.write` takes them as they
/// are, where a `bytes` would first copy 20 MB per chunk.
#[pyclass(frozen)]
struct JsonLines {
    data: Vec<u8>,
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Drop for JsonLines {
    fn drop(&mut self) {
        let mut data = std::mem::take(&mut self.data);
        data.clear();
        if let Ok(mut spare) = self.spare.lock() {
            if spare.len() < MAX_SPARE {
                spare.push(data);
            }
        }
    }
}

/// buffers kept: as many as chunks are in flight (convert.py keeps workers + 1 of them)
const MAX_SPARE: usize = 8;

#[pymethods]
impl JsonLines {
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        let data = &slf.get().data;
        // SAFETY: the buffer exports `data` read-only and holds a reference to `slf`, which owns it and never
        // changes it (frozen), so the memory outlives every view
        let filled = unsafe {
            ffi::PyBuffer_FillInfo(view, slf.as_ptr(), data.as_ptr() as *mut c_void, data.len() as ffi::Py_ssize_t, 1, flags)
        };
        if filled == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}

    fn __len__(&self) -> usize {
        self.data.len()
    }
}

impl Kernel {
    fn convert_chunk(&self, chunk: &[u8], first_line: i64) -> (Vec<u8>, usize, Vec<Deferred>) {
        let capacity = chunk.len() * 3 + 1024;
        let mut out = self.spare.lock().ok().and_then(|mut spare| spare.pop()).unwrap_or_default();
        out.reserve(capacity);
        let mut deferred = Vec::new();
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(self.columns);
        let mut scratch = Vec::new();
        let (mut pos, mut line, mut written) = (0usize, first_line, 0usize);
        while pos < chunk.len() {
            let (end, next, breaks) = row_end(chunk, pos);
            let mut row = &chunk[pos..end];
            if let Some(stripped) = row.strip_suffix(b"\r") {
                row = stripped;
            }
            if !row.is_empty() {
                let mark = out.len();
                if self.convert_row(row, breaks, &mut spans, &mut scratch, &mut out).is_ok() {
                    written += 1;
                } else {
                    out.truncate(mark);
                    deferred.push(Deferred { line, start: pos, end: next });
                }
            }
            line += 1 + breaks as i64;
            pos = next;
        }
        (out, written, deferred)
    }

    fn convert_row(
        &self,
        row: &[u8],
        breaks: usize,
        spans: &mut Vec<(usize, usize)>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Step<()> {
        if breaks > 0 || memchr(b'\r', row).is_some() {
            return Err(Defer); // a line break inside quotes: the polars path keeps today's line numbering
        }
        split_fields(row, spans)?;
        if spans.len() != self.columns {
            return Err(Defer); // ragged
        }
        for field in &self.fields {
            out.extend_from_slice(&field.prefix);
            let (start, end) = spans[field.column];
            let value = unquote(&row[start..end], scratch)?;
            self.write_value(field, value, out)?;
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    fn is_null(&self, value: &[u8]) -> bool {
        match value.first() {
            None => self.null_values.iter().any(|null| null.is_empty()),
            Some(&first) => self.null_first[usize::from(first)] && self.null_values.iter().any(|null| null.as_slice() == value),
        }
    }

    fn write_value(&self, field: &FieldSpec, value: &[u8], out: &mut Vec<u8>) -> Step<()> {
        if self.is_null(value) {
            if !field.nullable {
                return Err(Defer);
            }
            out.extend_from_slice(b"null");
            return Ok(());
        }
        if field.kind == Kind::Str {
            return write_string(value, out);
        }
        if !value.is_ascii() || value.first().is_some_and(u8::is_ascii_whitespace)
            || value.last().is_some_and(u8::is_ascii_whitespace)
        {
            return Err(Defer);
        }
        match field.kind {
            Kind::Int => {
                let number = parse_int(value)?;
                check_bounds(number as f64, field)?;
                out.extend_from_slice(itoa::Buffer::new().format(number).as_bytes());
            }
            Kind::Float => write_float(parse_float(value)?, field, out)?,
            Kind::Money => write_float(parse_money(value)?, field, out)?,
            Kind::YesNo => out.extend_from_slice(if parse_yes_no(value)? { b"true" } else { b"false" }),
            Kind::MonthYear => write_month_year(value, out)?,
            Kind::Datetime => write_datetime(value, out)?,
            Kind::Zip => write_zip(value, out)?,
            Kind::Str => unreachable!(),
        }
        Ok(())
    }
}

/// (end of the row's bytes, start of the next row, line breaks inside the row). The row ends at the first line
/// break outside quotes, quotes read as pyarrow's CSV reader reads them: a quote opens a quoted value only at
/// the start of a field, `""` inside is a quote, and after the closing quote the value goes on unquoted.
fn row_end(chunk: &[u8], start: usize) -> (usize, usize, usize) {
    let line_end = memchr(b'\n', &chunk[start..]).map_or(chunk.len(), |offset| start + offset);
    if memchr(b'"', &chunk[start..line_end]).is_none() {
        return (line_end, (line_end + 1).min(chunk.len()), 0);
    }
    let (mut at, mut breaks, mut field_start, mut quoted) = (start, 0usize, true, false);
    while at < chunk.len() {
        let byte = chunk[at];
        if quoted {
            if byte == b'"' {
                if chunk.get(at + 1) == Some(&b'"') {
                    at += 1;
                } else {
                    quoted = false;
                }
            } else if byte == b'\n' {
                breaks += 1;
            }
        } else {
            match byte {
                b'\n' => return (at, at + 1, breaks),
                b'"' if field_start => quoted = true,
                _ => {}
            }
            field_start = byte == b',';
        }
        at += 1;
    }
    (chunk.len(), chunk.len(), breaks)
}

/// The spans of a row's comma-separated fields; a quoted field's span keeps its quotes. A quote anywhere but
/// around a whole field is left to the CSV reader's own rules (deferred).
fn split_fields(row: &[u8], spans: &mut Vec<(usize, usize)>) -> Step<()> {
    spans.clear();
    if memchr(b'"', row).is_none() {
        let mut start = 0;
        for comma in memchr_iter(b',', row) {
            spans.push((start, comma));
            start = comma + 1;
        }
        spans.push((start, row.len()));
        return Ok(());
    }
    let mut start = 0;
    loop {
        if row.get(start) == Some(&b'"') {
            let mut at = start + 1;
            loop {
                let quote = at + memchr(b'"', &row[at..]).ok_or(Defer)?;
                if row.get(quote + 1) == Some(&b'"') {
                    at = quote + 2;
                    continue;
                }
                at = quote + 1;
                break;
            }
            spans.push((start, at));
            match row.get(at) {
                None => return Ok(()),
                Some(b',') => start = at + 1,
                Some(_) => return Err(Defer),
            }
        } else {
            let end = memchr(b',', &row[start..]).map_or(row.len(), |offset| start + offset);
            if memchr(b'"', &row[start..end]).is_some() {
                return Err(Defer);
            }
            spans.push((start, end));
            if end == row.len() {
                return Ok(());
            }
            start = end + 1;
        }
    }
}

/// A field's value: a quoted field without its quotes, doubled quotes made single.
fn unquote<'a>(field: &'a [u8], scratch: &'a mut Vec<u8>) -> Step<&'a [u8]> {
    if field.first() != Some(&b'"') {
        return Ok(field);
    }
    let inner = &field[1..field.len() - 1];
    if memchr(b'"', inner).is_none() {
        return Ok(inner);
    }
    scratch.clear();
    let mut i = 0;
    while i < inner.len() {
        scratch.push(inner[i]);
        i += if inner[i] == b'"' { 2 } else { 1 };
    }
    Ok(scratch.as_slice())
}

fn check_bounds(value: f64, field: &FieldSpec) -> Step<()> {
    if field.minimum.is_some_and(|minimum| value < minimum) || field.maximum.is_some_and(|maximum| value > maximum) {
        return Err(Defer);
    }
    Ok(())
}

fn all_digits(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(u8::is_ascii_digit)
}

/// `-?digits`, at most 18 digits (no overflow), no leading zero: the forms every integer parser agrees on.
fn parse_int(text: &[u8]) -> Step<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if !all_digits(digits) || digits.len() > 18 || (digits.len() > 1 && digits[0] == b'0') || digits == b"0" && text[0] == b'-' {
        return Err(Defer);
    }
    let magnitude = digits.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Ok(if text[0] == b'-' { -magnitude } else { magnitude })
}

/// `-?digits(.digits)?`, correctly rounded as every float parser does.
fn parse_float(text: &[u8]) -> Step<f64> {
    let unsigned = text.strip_prefix(b"-").unwrap_or(text);
    let (whole, fraction) = match memchr(b'.', unsigned) {
        Some(dot) => (&unsigned[..dot], Some(&unsigned[dot + 1..])),
        None => (unsigned, None),
    };
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return Err(Defer);
    }
    let value: f64 = std::str::from_utf8(text).map_err(|_| Defer)?.parse().map_err(|_| Defer)?;
    if value.is_finite() { Ok(value) } else { Err(Defer) }
}

/// `$1,234.50` → 1234.5: one leading `$` off, every comma out, then a float.
fn parse_money(text: &[u8]) -> Step<f64> {
    let unsigned = text.strip_prefix(b"$").unwrap_or(text);
    if memchr(b',', unsigned).is_none() {
        return parse_float(unsigned);
    }
    let plain: Vec<u8> = unsigned.iter().copied().filter(|&b| b != b',').collect();
    parse_float(&plain)
}

fn write_float(value: f64, field: &FieldSpec, out: &mut Vec<u8>) -> Step<()> {
    check_bounds(value, field)?;
    out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
    Ok(())
}

fn parse_yes_no(text: &[u8]) -> Step<bool> {
    for yes in [&b"YES"[..], b"Y", b"TRUE"] {
        if text.eq_ignore_ascii_case(yes) {
            return Ok(true);
        }
    }
    for no in [&b"NO"[..], b"N", b"FALSE"] {
        if text.eq_ignore_ascii_case(no) {
            return Ok(false);
        }
    }
    Err(Defer)
}

/// `M/YYYY` or `MM/YYYY`, month 1-12 → `"YYYY-MM"`.
fn write_month_year(text: &[u8], out: &mut Vec<u8>) -> Step<()> {
    let slash = memchr(b'/', text).ok_or(Defer)?;
    let (month, year) = (&text[..slash], &text[slash + 1..]);
    if !all_digits(month) || month.len() > 2 || !all_digits(year) || year.len() != 4 {
        return Err(Defer);
    }
    let number = month.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    if !(1..=12).contains(&number) {
        return Err(Defer);
    }
    out.push(b'"');
    out.extend_from_slice(year);
    out.extend_from_slice(if month.len() == 1 { b"-0" } else { b"-" });
    out.extend_from_slice(month);
    out.push(b'"');
    Ok(())
}

fn two_digits(text: &[u8]) -> u32 {
    u32::from(text[0] - b'0') * 10 + u32::from(text[1] - b'0')
}

/// `YYYY-MM-DD HH:MM:SS` naming a real calendar second (years 1000-9999, no leap second) →
/// `"YYYY-MM-DDTHH:MM:SS"`.
fn write_datetime(text: &[u8], out: &mut Vec<u8>) -> Step<()> {
    if text.len() != 19 {
        return Err(Defer);
    }
    for (at, separator) in [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')] {
        if text[at] != separator {
            return Err(Defer);
        }
    }
    for at in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] {
        if !text[at].is_ascii_digit() {
            return Err(Defer);
        }
    }
    let year = two_digits(&text[0..2]) * 100 + two_digits(&text[2..4]);
    let (month, day) = (two_digits(&text[5..7]), two_digits(&text[8..10]));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(Defer),
    };
    let in_range = year >= 1000 && (1..=days).contains(&day) && two_digits(&text[11..13]) < 24
        && two_digits(&text[14..16]) < 60 && two_digits(&text[17..19]) < 60;
    if !in_range {
        return Err(Defer);
    }
    out.push(b'"');
    out.extend_from_slice(&text[..10]);
    out.push(b'T');
    out.extend_from_slice(&text[11..]);
    out.push(b'"');
    Ok(())
}

/// 1-5 digits, a trailing `.0` off (the Kaggle CSV writes zips as floats), zero-padded to 5.
fn write_zip(text: &[u8], out: &mut Vec<u8>) -> Step<()> {
    let digits = text.strip_suffix(b".0").unwrap_or(text);
    if !all_digits(digits) || digits.len() > 5 {
        return Err(Defer);
    }
    out.push(b'"');
    out.extend_from_slice(&b"00000"[digits.len()..]);
    out.extend_from_slice(digits);
    out.push(b'"');
    Ok(())
}

/// A UTF-8 string with nothing to strip at either end, as a JSON string.
fn write_string(value: &[u8], out: &mut Vec<u8>) -> Step<()> {
    let text = std::str::from_utf8(value).map_err(|_| Defer)?;
    let padded = text.chars().next().is_some_and(char::is_whitespace)
        || text.chars().next_back().is_some_and(char::is_whitespace);
    if padded {
        return Err(Defer);
    }
    out.push(b'"');
    let mut plain = 0;
    for (at, &byte) in value.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&value[plain..at]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{byte:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        plain = at + 1;
    }
    out.extend_from_slice(&value[plain..]);
    out.push(b'"');
    Ok(())
}

mod columns;
mod lines;

#[pymodule]
fn kde_convert_kernel(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Kernel>()?;
    module.add_class::<JsonLines>()?;
    module.add_class::<lines::LineChecker>()?;
    module.add_class::<columns::ColumnReader>()?;
    Ok(())
}
