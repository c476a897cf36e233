//! Variable substitution and `$[...]` expressions, for the subset dialout's dialplans use:
//! `${NAME}`, `${FILTER(allowed,text)}` (nested references inside), and `$[a OP b]` with
//! `|`, `&`, `=`, `!=`, `<`, `<=`, `>`, `>=`, `+`, `-` between blank-separated operands
//! (double quotes stripped, numbers compared as numbers), as `ast_expr2` evaluates them.

/// Replaces every `${...}` and `$[...]` in `text`; `var` gives a variable's value (unknown
/// ones are empty, as in Asterisk).
pub(crate) fn substitute(text: &str, var: &dyn Fn(&str) -> String) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(['$']) {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (open, close) = match after.chars().next() {
            Some('{') => ('{', '}'),
            Some('[') => ('[', ']'),
            _ => {
                out.push('$');
                rest = after;
                continue;
            }
        };
        let end = matching(after, open, close).ok_or(format!("unterminated `${open}`"))?;
        let inner = substitute(&after[1..end], var)?;
        if open == '{' {
            out.push_str(&reference(&inner, var)?);
        } else {
            out.push_str(&evaluate(&inner)?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Index of the bracket closing the one at `s[0]`.
fn matching(s: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// `${NAME}` or `${FUNC(args)}`, its inside already substituted.
fn reference(inner: &str, var: &dyn Fn(&str) -> String) -> Result<String, String> {
    if let Some((func, args)) = inner.split_once('(') {
        let args = args
            .strip_suffix(')')
            .ok_or(format!("malformed `${{{inner}}}`"))?;
        return match func {
            // func_strings.c: keeps the characters of `text` found in `allowed`.
            "FILTER" => {
                let (allowed, text) = args.split_once(',').unwrap_or((args, ""));
                if allowed.contains(['-', '\\']) {
                    return Err("FILTER ranges and escapes are not supported by the fake".into());
                }
                Ok(text.chars().filter(|c| allowed.contains(*c)).collect())
            }
            other => Err(format!("function `{other}` is not supported by the fake")),
        };
    }
    if inner.is_empty()
        || !inner
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_')
    {
        return Err(format!("variable reference `${{{inner}}}`"));
    }
    Ok(var(inner))
}

/// One `$[...]`, already substituted.
pub(crate) fn evaluate(expr: &str) -> Result<String, String> {
    let tokens = tokens(expr)?;
    if tokens.is_empty() {
        return Ok(String::new());
    }
    eval(&tokens)
}

fn tokens(expr: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::from("\"");
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(x) => s.push(x),
                    None => return Err(format!("unterminated quote in `$[{expr}]`")),
                }
            }
            out.push(s);
        } else {
            let mut s = String::new();
            while let Some(&x) = chars.peek() {
                if x.is_whitespace() {
                    break;
                }
                s.push(x);
                chars.next();
            }
            out.push(s);
        }
    }
    Ok(out)
}

fn is_op(t: &str, ops: &[&str]) -> bool {
    ops.contains(&t)
}

fn eval(t: &[String]) -> Result<String, String> {
    for level in [
        &["|"][..],
        &["&"][..],
        &["=", "!=", "<", "<=", ">", ">="][..],
        &["+", "-"][..],
    ] {
        // Left-associative: split at the last operator of the lowest precedence.
        if let Some(i) = t.iter().rposition(|x| is_op(x, level)) {
            if i == 0 || i + 1 == t.len() {
                return Err(format!("operator `{}` without an operand", t[i]));
            }
            let (l, r) = (eval(&t[..i])?, eval(&t[i + 1..])?);
            return Ok(apply(&t[i], &l, &r));
        }
    }
    let glued = |x: &str| {
        !x.starts_with('"') && x.len() > 1 && x.contains(['+', '-', '=', '<', '>', '!', '&', '|'])
    };
    if t.len() != 1 || glued(&t[0]) {
        return Err(format!(
            "expression `{}` (the fake needs blanks around operators)",
            t.join(" ")
        ));
    }
    Ok(t[0].strip_prefix('"').unwrap_or(&t[0]).to_string())
}

fn truthy(s: &str) -> bool {
    match s.parse::<f64>() {
        Ok(n) => n != 0.0,
        Err(_) => !s.is_empty(),
    }
}

fn apply(op: &str, l: &str, r: &str) -> String {
    let b = |x: bool| if x { "1" } else { "0" }.to_string();
    let nums = (l.parse::<i64>(), r.parse::<i64>());
    match op {
        "|" => {
            if truthy(l) {
                l.to_string()
            } else if truthy(r) {
                r.to_string()
            } else {
                "0".into()
            }
        }
        "&" => {
            if truthy(l) && truthy(r) {
                l.to_string()
            } else {
                "0".into()
            }
        }
        "+" | "-" => match nums {
            (Ok(a), Ok(c)) => (if op == "+" { a + c } else { a - c }).to_string(),
            _ => String::new(),
        },
        _ => {
            let ord = match nums {
                (Ok(a), Ok(c)) => a.cmp(&c),
                _ => l.cmp(r),
            };
            use std::cmp::Ordering::*;
            b(match op {
                "=" => ord == Equal,
                "!=" => ord != Equal,
                "<" => ord == Less,
                "<=" => ord != Greater,
                ">" => ord == Greater,
                _ => ord != Less,
            })
        }
    }
}

/// `pbx_checkcondition`: a number is true unless 0; other text is true unless empty.
pub(crate) fn condition(s: &str) -> bool {
    let s = s.trim();
    match s.parse::<i64>() {
        Ok(n) => n != 0,
        Err(_) => !s.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(text: &str) -> String {
        let vars = |n: &str| match n {
            "DIGITS" => "19".to_string(),
            "KEYS" => "12".to_string(),
            "TRY" => "2".to_string(),
            _ => String::new(),
        };
        substitute(text, &vars).unwrap()
    }

    #[test]
    fn the_dialplans_expressions() {
        assert_eq!(sub("${FILTER(${KEYS},${DIGITS})}"), "1");
        assert_eq!(
            sub(r#"$["${DIGITS}" != "" & "${FILTER(${KEYS},${DIGITS})}" = "${DIGITS}"]"#),
            "0"
        );
        assert_eq!(sub(r#"$["${NONE}" = ""]"#), "1");
        assert_eq!(sub("$[${TRY} + 1]"), "3");
        assert_eq!(sub("$[${TRY} <= 2]?a:b"), "1?a:b");
        assert_eq!(sub("$[${TRY} <= 10]"), "1", "numbers compare as numbers");
        assert!(condition("1") && !condition("0") && !condition(""));
    }
}
