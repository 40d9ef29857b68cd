//! Conversions between Python values and the plain data the engine speaks: JSON values, bytes,
//! header lists, and fields of objects that may be dataclasses or dicts.
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// A Python value as JSON: dicts (string keys), lists, tuples, str, int, float, bool, None.
pub fn py_to_json(v: &Bound<'_, PyAny>) -> PyResult<Value> {
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = v.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(PyValueError::new_err("integer out of the JSON range"));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err("NaN and infinity are not JSON"));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, x) in d.iter() {
            let k: String = k
                .extract()
                .map_err(|_| PyTypeError::new_err("JSON object keys must be strings"))?;
            m.insert(k, py_to_json(&x)?);
        }
        return Ok(Value::Object(m));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for x in v.try_iter()? {
            out.push(py_to_json(&x?)?);
        }
        return Ok(Value::Array(out));
    }
    Err(PyTypeError::new_err(format!(
        "a value of type {} cannot be sent as JSON",
        v.get_type().name()?
    )))
}

/// Bytes from `bytes`, `bytearray`, `memoryview` (anything with the buffer protocol) or `str`
/// (as UTF-8).
pub fn to_bytes(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if let Ok(b) = v.py().get_type::<PyBytes>().call1((v,)) {
        return Ok(b.cast::<PyBytes>()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "expected bytes or str, got {}",
        v.get_type().name()?
    )))
}

/// The name of `v`'s type, for error messages.
pub fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// `obj[name]` for a dict, else `obj.name`; `None` when absent or None.
pub fn field<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    let v = if let Ok(d) = obj.cast::<PyDict>() {
        d.get_item(name)?
    } else if obj.hasattr(name)? {
        Some(obj.getattr(name)?)
    } else {
        None
    };
    Ok(v.filter(|v| !v.is_none()))
}

/// Like [`field`], but the field must be there.
pub fn required<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    field(obj, name)?.ok_or_else(|| PyValueError::new_err(format!("{what} needs `{name}`")))
}

/// Headers as ordered pairs from a list of pairs, or from a mapping whose values are strings or
/// lists of strings (one pair per value, so repeated headers survive).
pub fn headers(v: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(v) = v.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if let Ok(d) = v.cast::<PyDict>() {
        for (k, x) in d.iter() {
            let k: String = k.extract()?;
            if x.is_instance_of::<PyList>() || x.is_instance_of::<PyTuple>() {
                for item in x.try_iter()? {
                    out.push((k.clone(), item?.extract()?));
                }
            } else {
                out.push((k, x.extract()?));
            }
        }
        return Ok(out);
    }
    if v.hasattr("items")? && !v.is_instance_of::<PyList>() {
        return headers(Some(&v.py().get_type::<PyDict>().call1((v,))?.into_any()));
    }
    for pair in v.try_iter()? {
        let (k, x): (String, String) = pair?
            .extract()
            .map_err(|_| PyTypeError::new_err("headers must be (name, value) pairs of str"))?;
        out.push((k, x));
    }
    Ok(out)
}

pub fn headers_to_py<'py>(py: Python<'py>, h: &[(String, String)]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, h.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The message a Python exception shows the worker: `str(exc)`, or the class name when that is
/// empty.
pub fn error_message(py: Python<'_>, e: &PyErr) -> String {
    let v = e.value(py);
    let text = v.str().map(|s| s.to_string()).unwrap_or_default();
    if text.is_empty() {
        e.get_type(py)
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "Python exception".into())
    } else {
        text
    }
}
