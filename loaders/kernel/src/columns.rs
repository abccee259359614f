//! The batch pipeline's compiled pass (pipelines/batch/mongodb.py, `raw_arrow_page`): a page of BSON documents
//! as MongoDB sends it (pymongo's `find_raw_batches`) → the Arrow buffers of the dataset's flat columns, without
//! a Python object per document or value.
//!
//! Like the other passes it decides only what it is sure of: a page it returns is the table the Python path
//! (`bson.decode_all`, then `arrow_page`) would build from the same bytes. Anything else (a field the schema does
//! not know or a document holding one twice, a value of another BSON type than its column takes, a null where
//! one is required, an integer a double column cannot hold exactly, a string that is not UTF-8, bytes that are
//! not well-formed BSON) declines the whole page: `read` returns None and the caller takes the Python path,
//! which decides and reports as it always did. tests/pipelines/test_raw_arrow_pages.py holds the two together.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Str,
    Bool,
}

struct Column {
    name: Vec<u8>,
    kind: Kind,
    nullable: bool,
}

/// One column being filled: its validity bits and values (Arrow's layouts: int64, float64, utf8 with int32
/// offsets, bit-packed booleans).
struct Builder {
    validity: Vec<u8>,
    nulls: usize,
    values: Vec<u8>,
    offsets: Vec<i32>,
}

impl Builder {
    fn new(kind: Kind) -> Self {
        let offsets = if kind == Kind::Str { vec![0] } else { Vec::new() };
        Builder { validity: Vec::new(), nulls: 0, values: Vec::new(), offsets }
    }
}

/// A page that is not the kernel's to decide.
struct Decline;

type Step<T> = Result<T, Decline>;

/// A value as the document holds it, before its column takes it.
enum Value<'a> {
    Double(f64),
    Int(i64),
    Str(&'a [u8]),
    Bool(bool),
    Null,
}

/// Per column: (null count, validity bits or None when there is no null, the value buffers: values, or offsets
/// then data for strings).
type Columns<'py> = (usize, Vec<(usize, Option<Bound<'py, PyBytes>>, Vec<Bound<'py, PyBytes>>)>);

/// One dataset's columns, in the table's order, and the field every document carries besides them (`_id`).
#[pyclass(frozen)]
pub struct ColumnReader {
    columns: Vec<Column>,
    skip: Vec<u8>,
}

#[pymethods]
impl ColumnReader {
    /// `columns`: (name, JSON Schema type: integer, number, string or boolean, nullable) per column; `skip`: a
    /// field that is no column (MongoDB's `_id`), passed over whatever scalar it holds.
    #[new]
    fn new(columns: Vec<(String, String, bool)>, skip: String) -> PyResult<Self> {
        if columns.len() > 64 {
            return Err(PyValueError::new_err("more than 64 columns: not for the kernel"));
        }
        let mut specs = Vec::with_capacity(columns.len());
        for (name, type_name, nullable) in columns {
            let kind = match type_name.as_str() {
                "integer" => Kind::Int,
                "number" => Kind::Float,
                "string" => Kind::Str,
                "boolean" => Kind::Bool,
                other => return Err(PyValueError::new_err(format!("type {other:?} is not for the kernel"))),
            };
            specs.push(Column { name: name.into_bytes(), kind, nullable });
        }
        Ok(ColumnReader { columns: specs, skip: skip.into_bytes() })
    }

    /// The page's rows and columns (see `Columns`), or None when the page is not the kernel's to decide. The
    /// pass runs without the GIL.
    fn read<'py>(&self, py: Python<'py>, page: &[u8]) -> PyResult<Option<Columns<'py>>> {
        let built = py.detach(|| self.read_page(page));
        let Ok((rows, builders)) = built else { return Ok(None) };
        let columns = builders
            .into_iter()
            .zip(&self.columns)
            .map(|(b, column)| {
                let validity = (b.nulls > 0).then(|| PyBytes::new(py, &b.validity));
                let buffers = if column.kind == Kind::Str {
                    let offsets: Vec<u8> = b.offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
                    vec![PyBytes::new(py, &offsets), PyBytes::new(py, &b.values)]
                } else {
                    vec![PyBytes::new(py, &b.values)]
                };
                (b.nulls, validity, buffers)
            })
            .collect();
        Ok(Some((rows, columns)))
    }
}

impl ColumnReader {
    fn read_page(&self, page: &[u8]) -> Step<(usize, Vec<Builder>)> {
        let mut builders: Vec<Builder> = self.columns.iter().map(|c| Builder::new(c.kind)).collect();
        let mut at = 0;
        let mut rows = 0;
        while at < page.len() {
            let size = read_i32(page, at)?;
            if size < 5 || at + size as usize > page.len() {
                return Err(Decline);
            }
            let end = at + size as usize;
            if page[end - 1] != 0 {
                return Err(Decline);
            }
            self.read_document(&page[at + 4..end - 1], rows, &mut builders)?;
            rows += 1;
            at = end;
        }
        Ok((rows, builders))
    }

    /// One document's elements (between its size and its closing NUL) into row `row` of every column.
    fn read_document(&self, elements: &[u8], row: usize, builders: &mut [Builder]) -> Step<()> {
        let mut seen: u64 = 0;
        let mut at = 0;
        let mut expected = 0; // documents the loaders wrote hold the columns in the schema's order
        while at < elements.len() {
            let kind = elements[at];
            let name_end = at + 1 + memchr::memchr(0, &elements[at + 1..]).ok_or(Decline)?;
            let name = &elements[at + 1..name_end];
            at = name_end + 1;
            if name == self.skip.as_slice() {
                at += skipped_size(kind, elements, at)?;
                continue;
            }
            let index = self.column_index(name, expected).ok_or(Decline)?;
            expected = index + 1;
            if seen & (1 << index) != 0 {
                return Err(Decline); // a field twice: which one counts is the decoder's to say
            }
            seen |= 1 << index;
            let (value, size) = read_value(kind, elements, at)?;
            at += size;
            put(&self.columns[index], &mut builders[index], row, value)?;
        }
        if at != elements.len() {
            return Err(Decline);
        }
        for (index, column) in self.columns.iter().enumerate() {
            if seen & (1 << index) == 0 {
                put(column, &mut builders[index], row, Value::Null)?; // missing: None, as doc.get gives
            }
        }
        Ok(())
    }

    fn column_index(&self, name: &[u8], expected: usize) -> Option<usize> {
        if self.columns.get(expected).is_some_and(|c| c.name == name) {
            return Some(expected);
        }
        self.columns.iter().position(|c| c.name == name)
    }
}

/// `value` into row `row` of the column, as Arrow holds what pyarrow makes of the decoded Python value; a value
/// of a type the Python path would not put in this column as it is declines the page.
fn put(column: &Column, builder: &mut Builder, row: usize, value: Value) -> Step<()> {
    if row % 8 == 0 {
        builder.validity.push(0);
        if column.kind == Kind::Bool {
            builder.values.push(0);
        }
    }
    let bit = 1u8 << (row % 8);
    let valid = !matches!(value, Value::Null);
    if valid {
        *builder.validity.last_mut().ok_or(Decline)? |= bit;
    } else if !column.nullable {
        return Err(Decline);
    } else {
        builder.nulls += 1;
    }
    match (column.kind, value) {
        (Kind::Int, Value::Int(n)) => builder.values.extend_from_slice(&n.to_le_bytes()),
        (Kind::Int, Value::Null) => builder.values.extend_from_slice(&0i64.to_le_bytes()),
        (Kind::Float, Value::Double(x)) => builder.values.extend_from_slice(&x.to_le_bytes()),
        // pyarrow refuses an integer a double does not hold exactly: the Python path decides then
        (Kind::Float, Value::Int(n)) if n.unsigned_abs() <= 1 << 53 => {
            builder.values.extend_from_slice(&(n as f64).to_le_bytes())
        }
        (Kind::Float, Value::Null) => builder.values.extend_from_slice(&0f64.to_le_bytes()),
        (Kind::Str, Value::Str(s)) => {
            builder.values.extend_from_slice(s);
            builder.offsets.push(i32::try_from(builder.values.len()).map_err(|_| Decline)?);
        }
        (Kind::Str, Value::Null) => builder.offsets.push(*builder.offsets.last().ok_or(Decline)?),
        (Kind::Bool, Value::Bool(b)) => {
            if b {
                *builder.values.last_mut().ok_or(Decline)? |= bit;
            }
        }
        (Kind::Bool, Value::Null) => {}
        _ => return Err(Decline),
    }
    Ok(())
}

/// A scalar value at `at` of type `kind`, and its size in bytes.
fn read_value(kind: u8, bytes: &[u8], at: usize) -> Step<(Value<'_>, usize)> {
    Ok(match kind {
        0x01 => (Value::Double(f64::from_le_bytes(fixed(bytes, at)?)), 8),
        0x02 => {
            let size = read_i32(bytes, at)?;
            if size < 1 || at + 4 + size as usize > bytes.len() || bytes[at + 3 + size as usize] != 0 {
                return Err(Decline);
            }
            let text = &bytes[at + 4..at + 3 + size as usize];
            std::str::from_utf8(text).map_err(|_| Decline)?; // the decoder refuses it: its error, not ours
            (Value::Str(text), 4 + size as usize)
        }
        0x08 => match bytes.get(at) {
            Some(0) => (Value::Bool(false), 1),
            Some(1) => (Value::Bool(true), 1),
            _ => return Err(Decline),
        },
        0x0a => (Value::Null, 0),
        0x10 => (Value::Int(i32::from_le_bytes(fixed(bytes, at)?) as i64), 4),
        0x12 => (Value::Int(i64::from_le_bytes(fixed(bytes, at)?)), 8),
        _ => return Err(Decline), // a document, an array, a date, an ObjectId, ...: the Python path's
    })
}

/// The size of the skipped field's value: a scalar `_id` (a string, an ObjectId, a number).
fn skipped_size(kind: u8, bytes: &[u8], at: usize) -> Step<usize> {
    let size = match kind {
        0x07 => 12,
        0x01 | 0x12 => 8,
        0x10 => 4,
        0x02 => return read_value(kind, bytes, at).map(|(_, size)| size),
        _ => return Err(Decline),
    };
    if at + size > bytes.len() {
        return Err(Decline);
    }
    Ok(size)
}

fn fixed<const N: usize>(bytes: &[u8], at: usize) -> Step<[u8; N]> {
    bytes.get(at..at + N).and_then(|b| b.try_into().ok()).ok_or(Decline)
}

fn read_i32(bytes: &[u8], at: usize) -> Step<i32> {
    fixed::<4>(bytes, at).map(i32::from_le_bytes)
}
