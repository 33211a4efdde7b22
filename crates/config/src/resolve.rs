//! Stage 2: templates, inheritance, expansion, typed model and pre-flight checks.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use crate::diag::{Diagnostics, Kind, Location, Severity};
use crate::keys::{KEY_COUNT, Key, is_shinken_directive};
use crate::main_cfg::MainConfig;
use crate::model::*;
use crate::raw::RawFile;
use crate::timeperiod::{self, PeriodLine, Timeperiod};

/// One parsed object file, as handed to the resolver.
#[derive(Debug)]
pub struct ParsedFile<'a> {
    /// Its path.
    pub path: Arc<Path>,
    /// Its raw contents.
    pub raw: RawFile<'a>,
}

#[derive(Clone, Debug)]
struct P<'r> {
    key: Key,
    value: Cow<'r, str>,
    file: u32,
    line: u32,
}

#[derive(Clone, Debug)]
struct Cv<'r> {
    name: Box<str>,
    value: Cow<'r, str>,
}

#[derive(Clone, Debug)]
struct TpLine<'r> {
    first: &'r str,
    value: &'r str,
    file: u32,
    line: u32,
}

#[derive(Debug)]
struct Def<'r> {
    kind: ObjectKind,
    file: u32,
    line: u32,
    props: Vec<P<'r>>,
    custom: Vec<Cv<'r>>,
    tplines: Vec<TpLine<'r>>,
    name: Option<&'r str>,
    uses: Vec<&'r str>,
    register: bool,
}

#[derive(Clone, Debug, Default)]
struct Resolved<'r> {
    props: Vec<P<'r>>,
    mask: [u64; KEY_COUNT.div_ceil(64)],
    custom: Vec<Cv<'r>>,
    tplines: Vec<TpLine<'r>>,
}

impl<'r> Resolved<'r> {
    fn has(&self, k: Key) -> bool {
        let i = k as usize;
        self.mask[i / 64] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, k: Key) {
        let i = k as usize;
        self.mask[i / 64] |= 1 << (i % 64);
    }
    fn get(&self, k: Key) -> Option<&P<'r>> {
        if !self.has(k) {
            return None;
        }
        self.props.iter().find(|p| p.key == k)
    }
    /// Value unless absent or `null`.
    fn val(&self, k: Key) -> Option<&str> {
        self.get(k).map(|p| &*p.value).filter(|v| *v != "null")
    }
}

enum TplState<'r> {
    Unvisited,
    Visiting,
    Done(Rc<Resolved<'r>>),
}

/// Options of the resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResolveOptions {
    /// The dialect to apply.
    pub dialect: Dialect,
}

struct Ctx<'r> {
    paths: Vec<Arc<Path>>,
    defs: Vec<Def<'r>>,
    templates: FastMap<(ObjectKind, &'r str), usize>,
    tpl_state: Vec<TplState<'r>>,
    diags: Diagnostics,
    dialect: Dialect,
    main: MainConfig,
    regex_cache: HashMap<String, Option<regex::Regex>>,
    /// Reverse memberships collected while building objects: (object, list, file, line).
    contact_groups_of: Vec<(ContactId, String, u32, u32)>,
    host_groups_of: Vec<(HostId, String, u32, u32)>,
    service_groups_of: Vec<(ServiceId, String, u32, u32)>,
    /// Fast-path bases of hosts (`[0]`) and services (`[1]`) by `use` list; `None` when
    /// the templates alone produce diagnostics (those objects take the full path).
    bases: [FastMap<Vec<&'r str>, Option<Rc<Base<'r>>>>; 2],
    /// Per host and per service id: whether `notification_interval` / `notification_period`
    /// were set (directly, by a template or, for services, implied from the host): Nagios
    /// escalations inherit only values that were set ("have_..." in xodtemplate.c).
    host_have: Vec<Have>,
    service_have: Vec<Have>,
    /// `register 0` groups that gather members until [`drop_unregistered_groups`].
    unregistered_hostgroups: Vec<HostGroupId>,
    unregistered_servicegroups: Vec<ServiceGroupId>,
}

/// Which implied-inheritance sources an object has set.
#[derive(Debug, Clone, Copy, Default)]
struct Have {
    notification_interval: bool,
    notification_period: bool,
}

/// What the templates of a `use` list give a host or service on their own: the merged
/// properties and the typed settings built from them, shared by every object that
/// uses the same templates and only sets the directives of [`fast_keys`].
struct Base<'r> {
    r: Resolved<'r>,
    common: Checkable,
    refs: CheckableRefs,
    is_volatile: bool,
    parallelize: bool,
}

/// The directives an object may set itself and still take the fast path: those read
/// outside [`build_checkable`] (plus `check_command` and `display_name`, which are
/// applied on top of the base).
fn fast_keys(is_host: bool) -> &'static [Key] {
    if is_host {
        &[
            Key::HostName,
            Key::Alias,
            Key::Address,
            Key::DisplayName,
            Key::CheckCommand,
            Key::Parents,
            Key::Hostgroups,
        ]
    } else {
        &[
            Key::HostName,
            Key::HostgroupName,
            Key::ServiceDescription,
            Key::DisplayName,
            Key::CheckCommand,
            Key::Servicegroups,
            Key::Parents,
        ]
    }
}

fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// C `atoi`: optional blanks and sign, then digits; 0 when there are none. The flag says
/// whether the whole (trimmed) value was that integer.
fn c_atoi(v: &str) -> (i64, bool) {
    let t = v.trim_start();
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let n = if i == digits_start {
        0
    } else {
        // Saturate like a 64-bit strtol would rather than fail.
        t[..i]
            .parse::<i64>()
            .unwrap_or(if b[0] == b'-' { i64::MIN } else { i64::MAX })
    };
    (n, i > digits_start && t[i..].trim().is_empty())
}

/// C `strtod` on a decimal number: the longest prefix that parses, 0 when none. The flag
/// says whether the whole (trimmed) value was that number.
fn c_strtod(v: &str) -> (f64, bool) {
    let t = v.trim();
    if let Ok(x) = t.parse::<f64>() {
        if x.is_finite() && !t.contains(['i', 'I', 'n', 'N']) {
            return (x, true);
        }
    }
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut seen_digit = false;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        seen_digit = true;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            seen_digit = true;
        }
    }
    if !seen_digit {
        return (0.0, false);
    }
    (t[..i].parse::<f64>().unwrap_or(0.0), false)
}

impl<'r> Ctx<'r> {
    fn loc(&self, file: u32, line: u32) -> Option<Location> {
        self.paths
            .get(file as usize)
            .map(|p| Location::new(p, line))
    }
    fn def_loc(&self, d: usize) -> Option<Location> {
        let def = &self.defs[d];
        self.loc(def.file, def.line)
    }
    fn p_loc(&self, p: &P<'_>) -> Option<Location> {
        self.loc(p.file, p.line)
    }

    /// Describe a definition for messages, e.g. `service template 'generic-service'`.
    fn describe(&self, d: usize) -> String {
        let def = &self.defs[d];
        let own_name = def.kind.name_key().and_then(|k| {
            def.props
                .iter()
                .find(|p| p.key == k)
                .map(|p| p.value.to_string())
        });
        match (own_name, def.name) {
            (Some(n), _) => format!("{} '{}'", def.kind, n),
            (None, Some(t)) => format!("{} template '{}'", def.kind, t),
            (None, None) => {
                if def.kind == ObjectKind::Service {
                    let desc = def
                        .props
                        .iter()
                        .find(|p| p.key == Key::ServiceDescription)
                        .map(|p| p.value.to_string());
                    if let Some(desc) = desc {
                        return format!("service '{desc}'");
                    }
                }
                format!("{} definition", def.kind)
            }
        }
    }

    // -----------------------------------------------------------------------
    // Collection

    fn collect(&mut self, files: &'r [ParsedFile<'r>]) {
        let mut unsupported: HashMap<(ObjectKind, &'r str), (u32, u32, usize)> = HashMap::new();
        let mut ignored_types: HashMap<&'r str, (u32, u32, usize)> = HashMap::new();
        for (fi, f) in files.iter().enumerate() {
            let fi = u32::try_from(fi).unwrap_or(u32::MAX);
            for (line, err) in &f.raw.errors {
                let loc = self.loc(fi, *line);
                self.diags.error(Kind::Syntax, loc, None, err.to_string());
            }
            for (line, msg) in &f.raw.warnings {
                let loc = self.loc(fi, *line);
                self.diags.warning(Kind::Syntax, loc, None, msg.clone());
            }
            for obj in &f.raw.objects {
                let kind = ObjectKind::from_define(obj.kind).filter(|k| {
                    *k != ObjectKind::NotificationWay || self.dialect == Dialect::Shinken
                });
                let Some(kind) = kind else {
                    // Nagios' text ("Invalid object definition type"); the Shinken dialect
                    // ignores Shinken's own types with a warning.
                    if self.dialect == Dialect::Shinken
                        && crate::model::is_shinken_object_type(obj.kind)
                    {
                        let e = ignored_types.entry(obj.kind).or_insert((fi, obj.line, 0));
                        e.2 += 1;
                    } else {
                        let loc = self.loc(fi, obj.line);
                        self.diags.error(
                            Kind::Syntax,
                            loc,
                            None,
                            format!("Invalid object definition type '{}'", obj.kind),
                        );
                    }
                    continue;
                };
                let mut unknown: Vec<(&str, u32)> = Vec::new();
                let mut def = Def {
                    kind,
                    file: fi,
                    line: obj.line,
                    props: Vec::with_capacity(obj.props.len()),
                    custom: Vec::new(),
                    tplines: Vec::new(),
                    name: None,
                    uses: Vec::new(),
                    register: true,
                };
                for p in &obj.props {
                    if let Some(cv) = p.key.strip_prefix('_') {
                        if kind == ObjectKind::Timeperiod || cv.is_empty() {
                            // not valid: fall through to unknown handling below
                        } else {
                            def.custom.push(Cv {
                                name: cv.to_ascii_uppercase().into_boxed_str(),
                                value: p.value.clone(),
                            });
                            continue;
                        }
                    }
                    if self.dialect == Dialect::Nagios {
                        if let Some((new_key, old_key)) = deprecated_alias(kind, p.key) {
                            // Nagios 4.4.6 logs this for every occurrence, templates
                            // included (in `nagios.log` too), and takes the value.
                            let loc = self.loc(fi, p.line);
                            self.diags.warning(
                                Kind::Deprecated,
                                loc,
                                None,
                                format!(
                                    "The {old_key} attribute is deprecated and will be removed \
                                     in future versions. Please use {new_key} instead."
                                ),
                            );
                        }
                    }
                    match Key::parse(kind, p.key) {
                        Some(Key::Name) => {
                            def.name = Some(p.value.as_ref()).map(|_| match &p.value {
                                Cow::Borrowed(b) => *b,
                                Cow::Owned(_) => "",
                            })
                        }
                        Some(Key::Use) => {
                            let v: &'r str = match &p.value {
                                Cow::Borrowed(b) => b,
                                Cow::Owned(o) => o.as_str(),
                            };
                            def.uses = list(v).collect();
                        }
                        Some(Key::Register) => def.register = p.value.trim() != "0",
                        Some(key)
                            if self.dialect == Dialect::Nagios
                                && none_unsets(kind, key, &p.value) =>
                        {
                            // As if not set: the template's criteria apply (below).
                        }
                        Some(
                            Key::BusinessImpact | Key::MinBusinessImpact | Key::Notificationways,
                        ) if self.dialect == Dialect::Nagios => {
                            // Shinken's; Nagios 4.4.6 does not know them.
                            unknown.push((p.key, p.line));
                        }
                        Some(Key::FailurePredictionEnabled | Key::FailurePredictionOptions) => {
                            // Nagios 4 warns (once per object) and ignores them.
                            let loc = self.loc(fi, p.line);
                            self.diags.warning(
                                Kind::Unsupported,
                                loc,
                                None,
                                format!(
                                    "{} is obsoleted and no longer has any effect in {kind} \
                                     type objects",
                                    p.key
                                ),
                            );
                        }
                        Some(key) => {
                            if matches!(key, Key::BusinessImpact | Key::MinBusinessImpact) {
                                let e = unsupported.entry((kind, p.key)).or_insert((fi, p.line, 0));
                                e.2 += 1;
                                continue;
                            }
                            def.props.push(P {
                                key,
                                value: p.value.clone(),
                                file: fi,
                                line: p.line,
                            })
                        }
                        None if kind == ObjectKind::Timeperiod => {
                            let v: &'r str = match &p.value {
                                Cow::Borrowed(b) => b,
                                Cow::Owned(o) => o.as_str(),
                            };
                            def.tplines.push(TpLine {
                                first: p.key,
                                value: v,
                                file: fi,
                                line: p.line,
                            });
                        }
                        None if self.dialect == Dialect::Shinken && is_shinken_directive(p.key) => {
                            let e = unsupported.entry((kind, p.key)).or_insert((fi, p.line, 0));
                            e.2 += 1;
                        }
                        None => unknown.push((p.key, p.line)),
                    }
                }
                if def.name == Some("") {
                    def.name = None;
                }
                let idx = self.defs.len();
                if !unknown.is_empty() {
                    let tmp = std::mem::take(&mut unknown);
                    self.defs.push(def);
                    let what = self.describe(idx);
                    let def_back = self.defs.pop();
                    for (key, line) in tmp {
                        let loc = self.loc(fi, line);
                        // Nagios' text; an error there, a warning in the Shinken dialect.
                        let msg = format!("Invalid {kind} object directive '{key}'");
                        if self.dialect == Dialect::Shinken {
                            self.diags.warning(
                                Kind::UnknownDirective,
                                loc,
                                Some(what.clone()),
                                msg + "; ignored",
                            );
                        } else {
                            self.diags
                                .error(Kind::UnknownDirective, loc, Some(what.clone()), msg);
                        }
                    }
                    let Some(d) = def_back else { continue };
                    def = d;
                }
                if let Some(n) = def.name {
                    if let Some(prev) = self.templates.insert((kind, n), idx) {
                        let loc = self.loc(def.file, def.line);
                        let prev_loc = self
                            .def_loc(prev)
                            .map(|l| l.to_string())
                            .unwrap_or_default();
                        self.diags.warning(
                            Kind::Duplicate,
                            loc,
                            Some(format!("{kind} template '{n}'")),
                            format!("duplicate template name (also defined at {prev_loc}); this one is used"),
                        );
                    }
                }
                self.defs.push(def);
            }
        }
        let mut unsupported: Vec<_> = unsupported.into_iter().collect();
        unsupported.sort_by_key(|(_, (f, l, _))| (*f, *l));
        for ((kind, key), (f, l, n)) in unsupported {
            let loc = self.loc(f, l);
            let more = if n > 1 {
                format!(" ({n} occurrences)")
            } else {
                String::new()
            };
            self.diags.warning(
                Kind::Unsupported,
                loc,
                None,
                format!("Shinken directive '{key}' on {kind} objects is not implemented by Picket; ignored{more}"),
            );
        }
        let mut ignored: Vec<_> = ignored_types.into_iter().collect();
        ignored.sort_by_key(|(_, (f, l, _))| (*f, *l));
        for (t, (f, l, n)) in ignored {
            let loc = self.loc(f, l);
            let more = if n > 1 {
                format!(" ({n} definitions)")
            } else {
                String::new()
            };
            self.diags.warning(
                Kind::Unsupported,
                loc,
                None,
                format!("Shinken object type '{t}' is not used by Picket; ignored{more}"),
            );
        }
        self.tpl_state = (0..self.defs.len()).map(|_| TplState::Unvisited).collect();
    }

    // -----------------------------------------------------------------------
    // Inheritance

    fn additive(&self, k: Key) -> bool {
        self.dialect == Dialect::Shinken || k.is_additive_list()
    }

    fn resolve_template(&mut self, idx: usize, child: usize) -> Option<Rc<Resolved<'r>>> {
        match &self.tpl_state[idx] {
            TplState::Done(r) => return Some(Rc::clone(r)),
            TplState::Visiting => {
                let loc = self.def_loc(child);
                let what = self.describe(child);
                let tname = self.defs[idx].name.unwrap_or("?");
                // Nagios 4.4.6 stops at the loop silently and accepts the configuration.
                self.diags.warning(
                    Kind::CircularTemplate,
                    loc,
                    Some(what),
                    format!(
                        "circular template inheritance: 'use {tname}' leads back to itself; \
                         the loop is ignored (as Nagios does)"
                    ),
                );
                return None;
            }
            TplState::Unvisited => {}
        }
        // Depth-first over the `use` graph with an explicit stack (a `use` chain can be
        // as deep as the input: 10,000 levels must not overflow the thread's stack). A
        // template is resolved when the walk leaves it, so the templates it names are
        // already `Done` — or `Visiting` when they lead back to it, which
        // `merge_templates` reports as the loop, as the recursive walk did.
        self.tpl_state[idx] = TplState::Visiting;
        let mut stack: Vec<(usize, usize)> = vec![(idx, 0)];
        while let Some(top) = stack.last_mut() {
            let (n, next) = *top;
            if let Some(&tname) = self.defs[n].uses.get(next) {
                top.1 += 1;
                let kind = self.defs[n].kind;
                if let Some(&t) = self.templates.get(&(kind, tname)) {
                    if matches!(self.tpl_state[t], TplState::Unvisited) {
                        self.tpl_state[t] = TplState::Visiting;
                        stack.push((t, 0));
                    }
                }
                continue;
            }
            stack.pop();
            let r = Rc::new(self.resolve_def(n));
            self.tpl_state[n] = TplState::Done(r);
        }
        match &self.tpl_state[idx] {
            TplState::Done(r) => Some(Rc::clone(r)),
            _ => None,
        }
    }

    fn resolve_def(&mut self, idx: usize) -> Resolved<'r> {
        let kind = self.defs[idx].kind;
        let mut out = Resolved {
            props: self.defs[idx].props.clone(),
            custom: self.defs[idx].custom.clone(),
            tplines: self.defs[idx].tplines.clone(),
            ..Resolved::default()
        };
        for p in &self.defs[idx].props {
            let i = p.key as usize;
            out.mask[i / 64] |= 1 << (i % 64);
        }
        // Additive markers: own values starting with '+' still waiting for a parent value.
        let mut pending: Vec<Key> = out
            .props
            .iter()
            .filter(|p| p.value.starts_with('+') && self.additive(p.key))
            .map(|p| p.key)
            .collect();
        let uses = self.defs[idx].uses.clone();
        self.merge_templates(idx, kind, &uses, &mut out, &mut pending);
        for k in pending {
            if let Some(mine) = out.props.iter_mut().find(|p| p.key == k) {
                let v = mine.value.trim_start_matches('+').to_owned();
                mine.value = Cow::Owned(v);
            }
        }
        out
    }

    /// Merge the templates named by `uses` (in Nagios order) into `out`; `idx` is the
    /// definition that names them (for messages).
    fn merge_templates(
        &mut self,
        idx: usize,
        kind: ObjectKind,
        uses: &[&'r str],
        out: &mut Resolved<'r>,
        pending: &mut Vec<Key>,
    ) {
        for &tname in uses {
            let Some(&t) = self.templates.get(&(kind, tname)) else {
                let loc = self.def_loc(idx);
                let what = self.describe(idx);
                self.diags.error(
                    Kind::UnknownTemplate,
                    loc,
                    Some(what),
                    format!("template '{tname}' specified in 'use' is not defined"),
                );
                continue;
            };
            let Some(tr) = self.resolve_template(t, idx) else {
                continue;
            };
            out.props.reserve(tr.props.len());
            for tp in &tr.props {
                if tp.key.is_not_inherited() {
                    continue;
                }
                if out.has(tp.key) {
                    if let Some(pos) = pending.iter().position(|k| *k == tp.key) {
                        pending.swap_remove(pos);
                        if let Some(mine) = out.props.iter_mut().find(|p| p.key == tp.key) {
                            if tp.value != "null" && !tp.value.is_empty() {
                                let own = mine.value.trim_start_matches('+');
                                mine.value = Cow::Owned(format!("{},{}", tp.value, own));
                            }
                        }
                    }
                    continue;
                }
                out.set(tp.key);
                out.props.push(tp.clone());
            }
            for cv in &tr.custom {
                if !out.custom.iter().any(|c| c.name == cv.name) {
                    out.custom.push(cv.clone());
                }
            }
            for tl in &tr.tplines {
                let is_weekday = timeperiod::weekday_index(&tl.first.to_ascii_lowercase())
                    .is_some()
                    && !tl
                        .value
                        .trim_start()
                        .starts_with(|c: char| c.is_ascii_digit() || c == '-');
                if is_weekday
                    && out.tplines.iter().any(|o| {
                        o.first.eq_ignore_ascii_case(tl.first)
                            && !o
                                .value
                                .trim_start()
                                .starts_with(|c: char| c.is_ascii_digit() || c == '-')
                    })
                {
                    continue;
                }
                out.tplines.push(tl.clone());
            }
        }
    }

    // -----------------------------------------------------------------------
    // Helpers for typed conversion

    fn invalid(&mut self, p: &P<'_>, what: &str, msg: impl std::fmt::Display) {
        let loc = self.p_loc(p);
        self.diags.error(
            Kind::InvalidValue,
            loc,
            Some(what.to_owned()),
            format!(
                "invalid value '{}' for '{}': {msg}",
                p.value,
                p.key.as_str()
            ),
        );
    }

    /// Warn about a value Nagios reads with C's `atoi`/`strtod` (numeric prefix, 0 when
    /// none) instead of rejecting: Picket reads it the same way, so that a configuration
    /// `nagios -v` accepts is accepted, and says so.
    fn lenient(&mut self, p: &P<'_>, what: &str, expected: &str, read_as: impl std::fmt::Display) {
        let loc = self.p_loc(p);
        self.diags.warning(
            Kind::InvalidValue,
            loc,
            Some(what.to_owned()),
            format!(
                "invalid value '{}' for '{}': expected {expected}; read as {read_as}, as Nagios does",
                p.value,
                p.key.as_str()
            ),
        );
    }

    /// A boolean as Nagios reads it (`atoi(value) > 0`); anything but `0`/`1` warns.
    fn bool_of(&mut self, p: &P<'_>, what: &str) -> Option<bool> {
        if let Some(b) = parse_bool(&p.value) {
            return Some(b);
        }
        let b = c_atoi(&p.value).0 > 0;
        self.lenient(p, what, "0 or 1", u8::from(b));
        Some(b)
    }

    /// An integer as Nagios reads it (`atoi`); a value that is not an integer warns.
    fn int_of(&mut self, p: &P<'_>, what: &str) -> i64 {
        let (n, exact) = c_atoi(&p.value);
        if !exact {
            self.lenient(p, what, "an integer", n);
        }
        n
    }

    /// A non-negative integer field; a negative value warns and reads as `None`.
    fn num_of<T: TryFrom<i64>>(&mut self, p: &P<'_>, what: &str) -> Option<T> {
        let n = self.int_of(p, what);
        match T::try_from(n) {
            Ok(v) => Some(v),
            Err(_) if n < 0 => None,
            Err(_) => {
                self.invalid(p, what, "out of range");
                None
            }
        }
    }

    /// A number as Nagios reads it (`strtod`); a value that is not a number warns.
    fn f64_of(&mut self, p: &P<'_>, what: &str) -> Option<f64> {
        let (v, exact) = c_strtod(&p.value);
        if !exact {
            self.lenient(p, what, "a number", v);
        }
        Some(v)
    }

    /// A number that Nagios rejects when negative (or, with `positive`, when not above
    /// 0): an error naming the value, and `default` in its place.
    fn bounded_f64(&mut self, p: &P<'_>, what: &str, positive: bool, default: f64) -> f64 {
        let v = self.f64_of(p, what).unwrap_or(default);
        if v < 0.0 || (positive && v <= 0.0) || !v.is_finite() {
            let msg = if positive {
                "expected a number greater than 0"
            } else {
                "expected a non-negative number"
            };
            self.invalid(p, what, msg);
            return default;
        }
        v
    }

    fn opts_of(&mut self, p: &P<'_>, what: &str, allowed: &str) -> Option<Options> {
        match Options::parse(&p.value, allowed) {
            Ok(o) => Some(o),
            Err(e) => {
                self.invalid(p, what, e);
                None
            }
        }
    }

    fn check_name(&mut self, name: &str, what: &str, loc: Option<Location>) {
        let illegal = &self.main.illegal_object_name_chars;
        if !illegal.is_empty() && name.chars().any(|c| illegal.contains(c)) {
            self.diags.error(
                Kind::IllegalName,
                loc.clone(),
                Some(what.to_owned()),
                "name contains one or more illegal characters (illegal_object_name_chars)",
            );
        }
        if name.is_empty() {
            self.diags
                .error(Kind::Missing, loc, Some(what.to_owned()), "name is empty");
        }
    }

    fn regex(&mut self, pat: &str) -> Option<regex::Regex> {
        if let Some(r) = self.regex_cache.get(pat) {
            return r.clone();
        }
        let r = regex::Regex::new(pat).ok();
        self.regex_cache.insert(pat.to_owned(), r.clone());
        r
    }

    fn is_regex_name(&self, s: &str) -> bool {
        self.main.use_true_regexp_matching
            || (self.main.use_regexp_matching && s.contains(['*', '?', '+', '\\', '.']))
    }
}

/// Whether a dependency's criteria value counts as not set. In Nagios 4.4.6's
/// `xodtemplate_add_object_property` an `n` (`none`) anywhere in a service dependency's
/// `execution_failure_criteria` / `notification_failure_criteria` or a host dependency's
/// `notification_failure_criteria` clears the options *and* their "have" flag, so the
/// template's value is inherited (`n` over a template with `u,c,p` keeps `u,c,p`), and
/// without one no such dependency is registered, whatever letters follow the `n`.
/// Every other `*_options` / `*_criteria` key (host dependency execution criteria
/// included) keeps its "have" flag: `n` there means "none" and overrides the template.
/// An invalid letter is left for the typed conversion to report.
fn none_unsets(kind: ObjectKind, key: Key, value: &str) -> bool {
    let allowed = match (kind, key) {
        (
            ObjectKind::ServiceDependency,
            Key::ExecutionFailureCriteria | Key::NotificationFailureCriteria,
        ) => "owucp",
        (ObjectKind::HostDependency, Key::NotificationFailureCriteria) => "odup",
        _ => return false,
    };
    value.split([',', ' ']).any(|t| t == "n" || t == "none")
        && Options::parse(value, allowed).is_ok()
}

/// The host or service group definitions that gather members: the registered ones and,
/// as in Nagios 4.4.6 (whose recombobulation reads every group, registered or not), the
/// `register 0` ones that name a group. Members, `hostgroup_name` / `servicegroup_name`
/// of services, dependencies and escalations can name the latter; they are dropped
/// from the configuration before pre-flight ([`drop_unregistered_groups`]).
fn group_defs(ctx: &Ctx<'_>, kind: ObjectKind) -> Vec<usize> {
    (0..ctx.defs.len())
        .filter(|&i| ctx.defs[i].kind == kind)
        .collect()
}

/// Remove the `register 0` host and service groups (kept until here so that members,
/// services, dependencies and escalations could name them, as in Nagios) from the
/// configuration: they are not objects, are not counted, and hosts and services do not
/// list them.
fn drop_unregistered_groups(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    if !ctx.unregistered_hostgroups.is_empty() {
        let drop: HashSet<u32> = ctx.unregistered_hostgroups.iter().map(|g| g.0).collect();
        let mut map = vec![None; cfg.hostgroups.len()];
        let old = std::mem::take(&mut cfg.hostgroups);
        cfg.hostgroup_index.clear();
        for (i, mut g) in old.into_iter().enumerate() {
            if drop.contains(&(i as u32)) {
                continue;
            }
            let id = HostGroupId(u32::try_from(cfg.hostgroups.len()).unwrap_or(u32::MAX));
            map[i] = Some(id);
            g.id = id;
            cfg.hostgroup_index.insert(g.name.clone(), id);
            cfg.hostgroups.push(g);
        }
        for h in &mut cfg.hosts {
            h.hostgroups = h
                .hostgroups
                .iter()
                .filter_map(|g| map.get(g.index()).copied().flatten())
                .collect();
        }
    }
    if !ctx.unregistered_servicegroups.is_empty() {
        let drop: HashSet<u32> = ctx.unregistered_servicegroups.iter().map(|g| g.0).collect();
        let mut map = vec![None; cfg.servicegroups.len()];
        let old = std::mem::take(&mut cfg.servicegroups);
        cfg.servicegroup_index.clear();
        for (i, mut g) in old.into_iter().enumerate() {
            if drop.contains(&(i as u32)) {
                continue;
            }
            let id = ServiceGroupId(u32::try_from(cfg.servicegroups.len()).unwrap_or(u32::MAX));
            map[i] = Some(id);
            g.id = id;
            cfg.servicegroup_index.insert(g.name.clone(), id);
            cfg.servicegroups.push(g);
        }
        for s in &mut cfg.services {
            s.servicegroups = s
                .servicegroups
                .iter()
                .filter_map(|g| map.get(g.index()).copied().flatten())
                .collect();
        }
    }
}

/// Indices of the registered definitions of a kind, in definition order.
fn registered(ctx: &Ctx<'_>, kind: ObjectKind) -> Vec<usize> {
    (0..ctx.defs.len())
        .filter(|&i| ctx.defs[i].kind == kind && ctx.defs[i].register)
        .collect()
}

/// Resolve one registered definition (templates are memoised; objects are not kept).
fn resolved<'r>(ctx: &mut Ctx<'r>, i: usize) -> Option<Resolved<'r>> {
    if ctx.defs[i].name.is_some() {
        ctx.resolve_template(i, i).map(|r| (*r).clone())
    } else {
        Some(ctx.resolve_def(i))
    }
}

/// Resolve parsed files into a [`Config`]. Returns the configuration (possibly partial
/// when there are errors) and all diagnostics.
pub fn resolve(
    files: &[ParsedFile<'_>],
    main: MainConfig,
    resource_macros: HashMap<Box<str>, Box<str>>,
    opts: ResolveOptions,
) -> (Config, Diagnostics) {
    let mut ctx = Ctx {
        paths: files.iter().map(|f| Arc::clone(&f.path)).collect(),
        defs: Vec::with_capacity(files.iter().map(|f| f.raw.objects.len()).sum()),
        templates: FastMap::default(),
        tpl_state: Vec::new(),
        diags: Diagnostics::new(),
        dialect: opts.dialect,
        main,
        regex_cache: HashMap::new(),
        contact_groups_of: Vec::new(),
        host_groups_of: Vec::new(),
        service_groups_of: Vec::new(),
        bases: [FastMap::default(), FastMap::default()],
        host_have: Vec::new(),
        service_have: Vec::new(),
        unregistered_hostgroups: Vec::new(),
        unregistered_servicegroups: Vec::new(),
    };
    ctx.collect(files);
    let mut cfg = Config {
        dialect: opts.dialect,
        resource_macros,
        ..Config::default()
    };
    build_commands(&mut ctx, &mut cfg);
    build_timeperiods(&mut ctx, &mut cfg);
    let ways = build_ways(&mut ctx, &cfg);
    build_contacts(&mut ctx, &mut cfg, &ways);
    build_contactgroups(&mut ctx, &mut cfg);
    let host_parents = build_hosts(&mut ctx, &mut cfg);
    build_hostgroups(&mut ctx, &mut cfg);
    link_host_parents(&mut ctx, &mut cfg, host_parents);
    build_services(&mut ctx, &mut cfg);
    build_servicegroups(&mut ctx, &mut cfg);
    build_dependencies(&mut ctx, &mut cfg);
    build_escalations(&mut ctx, &mut cfg);
    build_extinfo(&mut ctx, &mut cfg);
    drop_unregistered_groups(&mut ctx, &mut cfg);
    preflight(&mut ctx, &mut cfg);
    cfg.main = std::mem::take(&mut ctx.main);
    (cfg, ctx.diags)
}

// ---------------------------------------------------------------------------
// Commands and timeperiods

fn build_commands(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = registered(ctx, ObjectKind::Command);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let Some(name) = r.val(Key::CommandName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "command has no 'command_name'",
            );
            continue;
        };
        let what = format!("command '{name}'");
        ctx.check_name(name, &what, loc.clone());
        let line = r.val(Key::CommandLine).unwrap_or("");
        if r.val(Key::CommandLine).is_none() {
            ctx.diags.error(
                Kind::Missing,
                loc.clone(),
                Some(what.clone()),
                "command has no 'command_line'",
            );
        }
        if let Some(&prev) = cfg.command_index.get(name) {
            let prev_loc = cfg.commands[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let max_arg = split_macros(line)
            .into_iter()
            .filter_map(|p| match p {
                LinePart::Macro(m) => m.strip_prefix("ARG").and_then(|n| n.parse::<u8>().ok()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let id = CommandId(u32::try_from(cfg.commands.len()).unwrap_or(u32::MAX));
        cfg.command_index.insert(name.into(), id);
        cfg.commands.push(Command {
            name: name.into(),
            line: line.into(),
            max_arg,
            location: loc.unwrap_or_else(dummy_loc),
        });
    }
}

fn dummy_loc() -> Location {
    Location {
        file: Arc::from(Path::new("")),
        line: 0,
    }
}

/// The warning for a time range that ends before it starts (accepted by Nagios 4.4.6,
/// never valid there: ranges do not cross midnight).
fn reversed_range_message(line: &PeriodLine, r: &timeperiod::TimeRange) -> String {
    let (a, b) = (
        timeperiod::format_hhmm(r.start),
        timeperiod::format_hhmm(r.end),
    );
    let hint = match line {
        PeriodLine::Weekday(d, _) if r.start < 86_400 && r.end > 0 => format!(
            "; write '{} {a}-24:00' and '{} 00:00-{b}'",
            timeperiod::weekday_name(*d),
            timeperiod::weekday_name((*d + 1) % 7)
        ),
        _ => String::new(),
    };
    format!(
        "time range '{a}-{b}' ends before it starts: it does not cross midnight and is never \
         valid (as in Nagios){hint}"
    )
}

fn build_timeperiods(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = registered(ctx, ObjectKind::Timeperiod);
    let mut pending_excl = Vec::new();
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let Some(name) = r.val(Key::TimeperiodName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "timeperiod has no 'timeperiod_name'",
            );
            continue;
        };
        let what = format!("timeperiod '{name}'");
        ctx.check_name(name, &what, loc.clone());
        // add_timeperiod() refuses a timeperiod without alias ("Name or alias for
        // timeperiod is NULL"); Shinken defaults it.
        if ctx.dialect == Dialect::Nagios && r.val(Key::Alias).is_none_or(str::is_empty) {
            ctx.diags.error(
                Kind::Missing,
                loc.clone(),
                Some(what.clone()),
                "timeperiod has no 'alias'",
            );
        }
        if let Some(&prev) = cfg.timeperiod_index.get(name) {
            let prev_loc = cfg.timeperiods[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let mut lines = Vec::new();
        for tl in &r.tplines {
            let full = format!("{} {}", tl.first, tl.value);
            match timeperiod::parse_line(&full) {
                Ok(l) => {
                    for r in l.ranges().iter().filter(|r| r.is_reversed()) {
                        let loc = ctx.loc(tl.file, tl.line);
                        ctx.diags.warning(
                            Kind::InvalidValue,
                            loc,
                            Some(what.clone()),
                            reversed_range_message(&l, r),
                        );
                    }
                    lines.push(l);
                }
                Err(e) => {
                    let l = ctx.loc(tl.file, tl.line);
                    ctx.diags
                        .error(Kind::InvalidValue, l, Some(what.clone()), e);
                }
            }
        }
        // Weekday lines defined later replace earlier ones; own lines come first, so
        // keep the first weekday line per day.
        let mut seen = [false; 7];
        lines.retain(|l| match l {
            PeriodLine::Weekday(d, _) => {
                let i = usize::from(*d);
                let keep = !seen[i];
                seen[i] = true;
                keep
            }
            PeriodLine::Exception(_) => true,
        });
        let id = TimeperiodId(u32::try_from(cfg.timeperiods.len()).unwrap_or(u32::MAX));
        cfg.timeperiod_index.insert(name.into(), id);
        if let Some(p) = r.get(Key::Exclude) {
            if p.value != "null" {
                pending_excl.push((id, p.clone(), what.clone()));
            }
        }
        let alias = r.val(Key::Alias).unwrap_or(name);
        cfg.timeperiods.push(Timeperiod::new(
            id,
            name.into(),
            alias.into(),
            lines,
            Vec::new(),
            loc.unwrap_or_else(dummy_loc),
        ));
    }
    for (id, p, what) in pending_excl {
        let mut ex = Vec::new();
        for n in list(&p.value) {
            match cfg.timeperiod_index.get(n) {
                Some(&e) => ex.push(e),
                None => {
                    let loc = ctx.p_loc(&p);
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(what.clone()),
                        format!("excluded timeperiod '{n}' is not defined"),
                    );
                }
            }
        }
        cfg.timeperiods[id.index()].exclude = ex;
    }
}

fn tp_ref(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    r: &Resolved<'_>,
    k: Key,
    what: &str,
) -> Option<TimeperiodId> {
    let p = r.get(k)?;
    if p.value == "null" || p.value.is_empty() {
        return None;
    }
    match cfg.timeperiod_index.get(p.value.trim()) {
        Some(&id) => Some(id),
        None => {
            let loc = ctx.p_loc(p);
            ctx.diags.error(
                Kind::Undefined,
                loc,
                Some(what.to_owned()),
                format!("{} '{}' is not defined", k.as_str(), p.value.trim()),
            );
            None
        }
    }
}

fn cmd_call(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    p: &P<'_>,
    s: &str,
    what: &str,
) -> Option<CommandCall> {
    let (name, args) = split_command_call(s);
    match cfg.command_index.get(name) {
        Some(&id) => Some(CommandCall { command: id, args }),
        None => {
            let loc = ctx.p_loc(p);
            ctx.diags.error(
                Kind::Undefined,
                loc,
                Some(what.to_owned()),
                format!("{} '{}' is not defined", p.key.as_str(), name),
            );
            None
        }
    }
}

fn cmd_ref(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    r: &Resolved<'_>,
    k: Key,
    what: &str,
) -> Option<CommandCall> {
    let p = r.get(k)?.clone();
    let v = p.value.trim();
    if v == "null" || v.is_empty() {
        return None;
    }
    cmd_call(ctx, cfg, &p, v, what)
}

/// Notification command lists are split on `,` (and whitespace outside arguments).
fn cmd_list(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    r: &Resolved<'_>,
    k: Key,
    what: &str,
) -> Vec<CommandCall> {
    let Some(p) = r.get(k).cloned() else {
        return Vec::new();
    };
    if p.value == "null" {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in list(&p.value) {
        if let Some(cc) = cmd_call(ctx, cfg, &p, c, what) {
            out.push(cc);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Contacts

fn build_way(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    r: &Resolved<'_>,
    name: &str,
    what: &str,
) -> NotificationWay {
    let hno = match r.get(Key::HostNotificationOptions).cloned() {
        Some(p) if p.value != "null" => ctx.opts_of(&p, what, "durfs").unwrap_or_default(),
        _ => Options::parse("a", "durfs").unwrap_or_default(),
    };
    let sno = match r.get(Key::ServiceNotificationOptions).cloned() {
        Some(p) if p.value != "null" => ctx.opts_of(&p, what, "wucrfs").unwrap_or_default(),
        _ => Options::parse("a", "wucrfs").unwrap_or_default(),
    };
    let min_bi = match r.get(Key::MinBusinessImpact).cloned() {
        Some(p) => ctx.num_of(&p, what).unwrap_or(0),
        None => 0,
    };
    NotificationWay {
        name: name.into(),
        host_notification_period: tp_ref(ctx, cfg, r, Key::HostNotificationPeriod, what),
        service_notification_period: tp_ref(ctx, cfg, r, Key::ServiceNotificationPeriod, what),
        host_notification_options: hno,
        service_notification_options: sno,
        host_notification_commands: cmd_list(ctx, cfg, r, Key::HostNotificationCommands, what),
        service_notification_commands: cmd_list(
            ctx,
            cfg,
            r,
            Key::ServiceNotificationCommands,
            what,
        ),
        min_business_impact: min_bi,
    }
}

fn build_ways(ctx: &mut Ctx<'_>, cfg: &Config) -> HashMap<String, NotificationWay> {
    let mut ways = HashMap::new();
    if ctx.dialect != Dialect::Shinken {
        return ways;
    }
    let objs = registered(ctx, ObjectKind::NotificationWay);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let Some(name) = r.val(Key::NotificationwayName).map(str::to_owned) else {
            let loc = ctx.def_loc(d);
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "notificationway has no 'notificationway_name'",
            );
            continue;
        };
        let what = format!("notificationway '{name}'");
        let w = build_way(ctx, cfg, &r, &name, &what);
        ways.insert(name, w);
    }
    ways
}

fn build_contacts(ctx: &mut Ctx<'_>, cfg: &mut Config, ways: &HashMap<String, NotificationWay>) {
    let objs = registered(ctx, ObjectKind::Contact);
    let mut groups_of: Vec<(ContactId, P<'_>)> = Vec::new();
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let Some(name) = r.val(Key::ContactName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "contact has no 'contact_name'",
            );
            continue;
        };
        let name = name.to_owned();
        let what = format!("contact '{name}'");
        ctx.check_name(&name, &what, loc.clone());
        if let Some(&prev) = cfg.contact_index.get(name.as_str()) {
            let prev_loc = cfg.contacts[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let id = ContactId(u32::try_from(cfg.contacts.len()).unwrap_or(u32::MAX));
        let mut c = Contact {
            id,
            name: name.as_str().into(),
            alias: r.val(Key::Alias).unwrap_or(&name).into(),
            email: r.val(Key::Email).map(Into::into),
            pager: r.val(Key::Pager).map(Into::into),
            addresses: Default::default(),
            host_notifications_enabled: true,
            service_notifications_enabled: true,
            can_submit_commands: true,
            retain_status_information: true,
            retain_nonstatus_information: true,
            minimum_importance: 0,
            ways: Vec::new(),
            contactgroups: Vec::new(),
            custom_vars: r
                .custom
                .iter()
                .map(|c| (c.name.clone(), Box::from(&*c.value)))
                .collect(),
            location: loc.clone().unwrap_or_else(dummy_loc),
        };
        for (i, k) in [
            Key::Address1,
            Key::Address2,
            Key::Address3,
            Key::Address4,
            Key::Address5,
            Key::Address6,
        ]
        .into_iter()
        .enumerate()
        {
            c.addresses[i] = r.val(k).map(Into::into);
        }
        for p in r.props.iter().filter(|p| p.value != "null") {
            match p.key {
                Key::HostNotificationsEnabled => {
                    c.host_notifications_enabled = ctx.bool_of(p, &what).unwrap_or(true)
                }
                Key::ServiceNotificationsEnabled => {
                    c.service_notifications_enabled = ctx.bool_of(p, &what).unwrap_or(true)
                }
                Key::CanSubmitCommands => {
                    c.can_submit_commands = ctx.bool_of(p, &what).unwrap_or(true)
                }
                Key::RetainStatusInformation => {
                    c.retain_status_information = ctx.bool_of(p, &what).unwrap_or(true)
                }
                Key::RetainNonstatusInformation => {
                    c.retain_nonstatus_information = ctx.bool_of(p, &what).unwrap_or(true)
                }
                Key::MinimumImportance => c.minimum_importance = ctx.num_of(p, &what).unwrap_or(0),
                Key::Contactgroups => groups_of.push((id, p.clone())),
                _ => {}
            }
        }
        let own = build_way(ctx, cfg, &r, &name, &what);
        let has_own = !own.host_notification_commands.is_empty()
            || !own.service_notification_commands.is_empty();
        if has_own || r.get(Key::Notificationways).is_none() {
            c.ways.push(own);
        }
        if let Some(p) = r.get(Key::Notificationways).cloned() {
            if ctx.dialect == Dialect::Shinken {
                for w in list(&p.value) {
                    match ways.get(w) {
                        Some(way) => c.ways.push(way.clone()),
                        None => {
                            let l = ctx.p_loc(&p);
                            ctx.diags.error(
                                Kind::Undefined,
                                l,
                                Some(what.clone()),
                                format!("notificationway '{w}' is not defined"),
                            );
                        }
                    }
                }
            }
        }
        cfg.contact_index.insert(name.as_str().into(), id);
        cfg.contacts.push(c);
    }
    // Contacts' own `contactgroups` are linked in build_contactgroups.
    ctx.contact_groups_of = groups_of
        .into_iter()
        .map(|(id, p)| (id, p.value.into_owned(), p.file, p.line))
        .collect();
}

fn build_contactgroups(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = registered(ctx, ObjectKind::ContactGroup);
    let mut pending: Vec<(ContactGroupId, Option<P<'_>>, Option<P<'_>>, String)> = Vec::new();
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let Some(name) = r.val(Key::ContactgroupName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "contactgroup has no 'contactgroup_name'",
            );
            continue;
        };
        let what = format!("contactgroup '{name}'");
        ctx.check_name(name, &what, loc.clone());
        if let Some(&prev) = cfg.contactgroup_index.get(name) {
            let prev_loc = cfg.contactgroups[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let id = ContactGroupId(u32::try_from(cfg.contactgroups.len()).unwrap_or(u32::MAX));
        cfg.contactgroup_index.insert(name.into(), id);
        cfg.contactgroups.push(ContactGroup {
            id,
            name: name.into(),
            alias: r.val(Key::Alias).unwrap_or(name).into(),
            members: Vec::new(),
            location: loc.unwrap_or_else(dummy_loc),
        });
        pending.push((
            id,
            r.get(Key::Members).cloned(),
            r.get(Key::ContactgroupMembers).cloned(),
            what,
        ));
    }
    // Contacts' `contactgroups` (reverse membership), per group in definition order.
    let back = std::mem::take(&mut ctx.contact_groups_of);
    let mut back_members: Vec<Vec<ContactId>> = vec![Vec::new(); cfg.contactgroups.len()];
    for (cid, value, file, line) in back {
        for g in list(&value) {
            let gid = match cfg.contactgroup_index.get(g) {
                Some(&gid) => gid,
                None if ctx.dialect == Dialect::Shinken => {
                    // Shinken creates the group on the fly (contactgroup.py add_member).
                    let gid =
                        ContactGroupId(u32::try_from(cfg.contactgroups.len()).unwrap_or(u32::MAX));
                    let loc = ctx.loc(file, line);
                    ctx.diags.warning(
                        Kind::Undefined,
                        loc.clone(),
                        Some(format!("contact '{}'", cfg.contacts[cid.index()].name)),
                        format!(
                            "contactgroup '{g}' is not defined; created implicitly as Shinken does"
                        ),
                    );
                    cfg.contactgroup_index.insert(g.into(), gid);
                    cfg.contactgroups.push(ContactGroup {
                        id: gid,
                        name: g.into(),
                        alias: g.into(),
                        members: Vec::new(),
                        location: loc.unwrap_or_else(dummy_loc),
                    });
                    gid
                }
                None => {
                    let loc = ctx.loc(file, line);
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(format!("contact '{}'", cfg.contacts[cid.index()].name)),
                        format!("contactgroup '{g}' is not defined"),
                    );
                    continue;
                }
            };
            if back_members.len() <= gid.index() {
                back_members.resize(gid.index() + 1, Vec::new());
            }
            if let Some(v) = back_members.get_mut(gid.index()) {
                v.push(cid);
            }
        }
    }
    let mut sub: Vec<(ContactGroupId, Vec<ContactGroupId>)> = Vec::new();
    for (id, members, subgroups, what) in pending {
        if let Some(p) = members {
            if p.value != "null" {
                for m in list(&p.value) {
                    if m == "*" {
                        let all: Vec<ContactId> = cfg.contacts.iter().map(|c| c.id).collect();
                        cfg.contactgroups[id.index()].members.extend(all);
                        continue;
                    }
                    match cfg.contact_index.get(m) {
                        Some(&c) => cfg.contactgroups[id.index()].members.push(c),
                        None => {
                            let loc = ctx.p_loc(&p);
                            ctx.diags.error(
                                Kind::Undefined,
                                loc,
                                Some(what.clone()),
                                format!("member contact '{m}' is not defined"),
                            );
                        }
                    }
                }
            }
        }
        if let Some(p) = subgroups {
            let mut v = Vec::new();
            for m in list(&p.value) {
                match cfg.contactgroup_index.get(m) {
                    Some(&g) => v.push(g),
                    None => {
                        let loc = ctx.p_loc(&p);
                        ctx.diags.error(
                            Kind::Undefined,
                            loc,
                            Some(what.clone()),
                            format!("contactgroup_members entry '{m}' is not defined"),
                        );
                    }
                }
            }
            sub.push((id, v));
        }
    }
    let direct: Vec<Vec<ContactId>> = cfg
        .contactgroups
        .iter()
        .map(|g| g.members.clone())
        .collect();
    let subs: HashMap<ContactGroupId, Vec<ContactGroupId>> = sub.into_iter().collect();
    let mut memo: HashMap<ContactGroupId, Vec<ContactId>> = HashMap::new();
    let sub_edges: Vec<Vec<usize>> = (0..cfg.contactgroups.len())
        .map(|g| {
            subs.get(&ContactGroupId(u32::try_from(g).unwrap_or(0)))
                .map(|v| v.iter().map(|x| x.index()).collect())
                .unwrap_or_default()
        })
        .collect();
    let looped = on_cycle(&sub_edges);
    for (g, &in_loop) in looped.iter().enumerate() {
        let start = ContactGroupId(u32::try_from(g).unwrap_or(0));
        let mut visiting = HashSet::new();
        let members = nagios_member_order(
            start,
            &direct,
            &back_members,
            &subs,
            &mut memo,
            &mut visiting,
        );
        if in_loop {
            let cg = &cfg.contactgroups[g];
            ctx.diags.error(
                Kind::Circular,
                Some(cg.location.clone()),
                Some(format!("contactgroup '{}'", cg.name)),
                "contactgroup is part of a contactgroup_members include loop",
            );
        }
        cfg.contactgroups[g].members = members;
    }
    for g in &cfg.contactgroups {
        for &c in &g.members {
            cfg.contacts[c.index()].contactgroups.push(g.id);
        }
    }
}

/// For each node of a directed graph, whether it lies on a cycle (it can reach itself):
/// Tarjan's strongly connected components with an explicit stack, so that a nesting as
/// deep as the input costs no stack depth, in time linear in nodes and edges.
fn on_cycle(edges: &[Vec<usize>]) -> Vec<bool> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut scc_stack: Vec<usize> = Vec::new();
    let mut out = vec![false; n];
    let mut next_index = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        scc_stack.push(root);
        on_stack[root] = true;
        while let Some(top) = call.last_mut() {
            let (v, i) = *top;
            if let Some(&w) = edges[v].get(i) {
                top.1 += 1;
                if w >= n {
                    continue;
                }
                if w == v {
                    out[v] = true;
                }
                if index[w] == usize::MAX {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    scc_stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut members = Vec::new();
                while let Some(w) = scc_stack.pop() {
                    on_stack[w] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                if members.len() > 1 {
                    for w in members {
                        out[w] = true;
                    }
                }
            }
        }
    }
    out
}

/// The members of each group with its nested groups' members, for an acyclic nesting:
/// the group's own members, then each subgroup's (last named first), each member once
/// where it first appears — what walking the nesting from every group gives, computed
/// once per group (post-order, explicit stack) instead of once per group and ancestor.
fn expand_nesting<T: Copy + Eq + std::hash::Hash>(
    direct: &[Vec<T>],
    subs: &[Vec<usize>],
) -> Vec<Vec<T>> {
    let n = direct.len();
    let mut done: Vec<Option<Vec<T>>> = vec![None; n];
    for root in 0..n {
        if done[root].is_some() {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(top) = stack.last_mut() {
            let (g, i) = *top;
            if let Some(&sg) = subs[g].get(i) {
                top.1 += 1;
                if sg < n && done[sg].is_none() {
                    stack.push((sg, 0));
                }
                continue;
            }
            stack.pop();
            let mut members = direct[g].clone();
            for &sg in subs[g].iter().rev() {
                if let Some(Some(m)) = done.get(sg) {
                    members.extend(m.iter().copied());
                }
            }
            dedup_keep_order(&mut members);
            done[g] = Some(members);
        }
    }
    done.into_iter().map(Option::unwrap_or_default).collect()
}

/// The order in which Nagios 4.4.6 walks a contact group's members (`grp->members`),
/// which decides the notification order and `$NOTIFICATIONRECIPIENTS$`:
/// the `members` directive in reverse, then the contacts that name the group in their
/// own `contactgroups` in reverse definition order, then for each `contactgroup_members`
/// entry (in reverse) that group's members in reverse of its own order. A contact is kept
/// where it first appears. (xodtemplate builds the lists by prepending and
/// add_contact_to_contactgroup() prepends again; recorded in oracle f_contacts_groups.)
fn nagios_member_order(
    g: ContactGroupId,
    direct: &[Vec<ContactId>],
    back: &[Vec<ContactId>],
    subs: &HashMap<ContactGroupId, Vec<ContactGroupId>>,
    memo: &mut HashMap<ContactGroupId, Vec<ContactId>>,
    visiting: &mut HashSet<ContactGroupId>,
) -> Vec<ContactId> {
    if let Some(m) = memo.get(&g) {
        return m.clone();
    }
    if !visiting.insert(g) {
        // An include loop (reported by the caller): stop here.
        return Vec::new();
    }
    // Depth first with an explicit stack (nesting can be as deep as the input): a group
    // is computed when the walk leaves it, its subgroups in the same order as a
    // recursive walk would take them; a subgroup still being walked is a loop and adds
    // nothing.
    let no_subs: Vec<ContactGroupId> = Vec::new();
    let mut stack: Vec<(ContactGroupId, usize)> = vec![(g, 0)];
    while let Some(top) = stack.last_mut() {
        let (cur, next) = *top;
        let s = subs.get(&cur).unwrap_or(&no_subs);
        if next < s.len() {
            top.1 += 1;
            let sg = s[s.len() - 1 - next];
            if !memo.contains_key(&sg) && visiting.insert(sg) {
                stack.push((sg, 0));
            }
            continue;
        }
        stack.pop();
        let mut out: Vec<ContactId> = Vec::new();
        if let Some(d) = direct.get(cur.index()) {
            out.extend(d.iter().rev().copied());
        }
        if let Some(b) = back.get(cur.index()) {
            out.extend(b.iter().rev().copied());
        }
        for sg in s.iter().rev() {
            if let Some(m) = memo.get(sg) {
                out.extend(m.iter().rev().copied());
            }
        }
        dedup_keep_order(&mut out);
        visiting.remove(&cur);
        memo.insert(cur, out);
    }
    memo.get(&g).cloned().unwrap_or_default()
}

/// Contacts of an object (or escalation) in Nagios' notification order: its `contacts`
/// in reverse, then the members of its `contact_groups` (groups in reverse), each
/// contact once (create_notification_list_from_service() / add_notification()).
pub(crate) fn nagios_contact_order(
    cfg: &Config,
    contacts: &[ContactId],
    groups: &[ContactGroupId],
) -> Vec<ContactId> {
    let mut all: Vec<ContactId> = contacts.iter().rev().copied().collect();
    for g in groups.iter().rev() {
        if let Some(cg) = cfg.contactgroups.get(g.index()) {
            all.extend(cg.members.iter().copied());
        }
    }
    dedup_keep_order(&mut all);
    all
}

fn dedup_keep_order<T: Copy + Eq + std::hash::Hash>(v: &mut Vec<T>) {
    if v.len() < 2 {
        return;
    }
    if v.len() <= 16 {
        let mut out: Vec<T> = Vec::with_capacity(v.len());
        for &x in v.iter() {
            if !out.contains(&x) {
                out.push(x);
            }
        }
        *v = out;
    } else {
        let mut seen = HashSet::with_capacity(v.len());
        v.retain(|x| seen.insert(*x));
    }
}

// ---------------------------------------------------------------------------
// Hosts, services: the shared "checkable" part

#[derive(Clone, Copy)]
struct CheckableRefs {
    has_contacts: bool,
    has_notification_interval: bool,
    has_notification_period: bool,
}

fn build_checkable(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    r: &Resolved<'_>,
    what: &str,
    is_host: bool,
    display_default: &str,
) -> (Checkable, CheckableRefs) {
    let notif_letters = if is_host { "durfs" } else { "wucrfs" };
    let flap_letters = if is_host { "odu" } else { "owcu" };
    let stalk_letters = if is_host { "oduN" } else { "owucN" };
    let mut c = Checkable {
        display_name: r.val(Key::DisplayName).unwrap_or(display_default).into(),
        check_command: None,
        check_period: tp_ref(ctx, cfg, r, Key::CheckPeriod, what),
        event_handler: cmd_ref(ctx, cfg, r, Key::EventHandler, what),
        notification_period: tp_ref(ctx, cfg, r, Key::NotificationPeriod, what),
        initial_state: InitialState::Ok,
        max_check_attempts: 0,
        check_interval: 5.0,
        retry_interval: 1.0,
        active_checks_enabled: true,
        passive_checks_enabled: true,
        obsess: true,
        event_handler_enabled: true,
        check_freshness: false,
        freshness_threshold: 0,
        low_flap_threshold: 0.0,
        high_flap_threshold: 0.0,
        flap_detection_enabled: true,
        flap_detection_options: Options::parse("a", flap_letters).unwrap_or_default(),
        notification_options: Options::parse("a", notif_letters).unwrap_or_default(),
        notifications_enabled: true,
        notification_interval: 30.0,
        first_notification_delay: 0.0,
        stalking_options: Options::NONE,
        process_perf_data: true,
        retain_status_information: true,
        retain_nonstatus_information: true,
        contacts: Vec::new(),
        contact_groups: Vec::new(),
        notification_contacts: Vec::new(),
        notes: r.val(Key::Notes).map(Into::into),
        notes_url: r.val(Key::NotesUrl).map(Into::into),
        action_url: r.val(Key::ActionUrl).map(Into::into),
        icon_image: r.val(Key::IconImage).map(Into::into),
        icon_image_alt: r.val(Key::IconImageAlt).map(Into::into),
        importance: 0,
        custom_vars: r
            .custom
            .iter()
            .map(|c| (c.name.clone(), Box::from(&*c.value)))
            .collect(),
    };
    if let Some(p) = r.get(Key::CheckCommand).cloned() {
        let v = p.value.trim();
        // A leading '!' marks an "important" template command: same command, forced.
        let v = v.strip_prefix('!').unwrap_or(v);
        if v != "null" && !v.is_empty() {
            c.check_command = cmd_call(ctx, cfg, &p, v, what);
        }
    }
    let mut refs = CheckableRefs {
        has_contacts: r.has(Key::Contacts) || r.has(Key::ContactGroups),
        has_notification_interval: r.has(Key::NotificationInterval),
        has_notification_period: r.has(Key::NotificationPeriod),
    };
    for p in r.props.iter().filter(|p| p.value != "null") {
        match p.key {
            Key::InitialState => {
                c.initial_state = match p.value.trim() {
                    "o" | "ok" | "up" => InitialState::Ok,
                    "w" | "warning" if !is_host => InitialState::Warning,
                    "u" | "unknown" | "unreachable" => InitialState::Unknown,
                    "c" | "critical" if !is_host => InitialState::Critical,
                    "d" | "down" if is_host => InitialState::Down,
                    _ => {
                        ctx.invalid(p, what, "unknown initial state");
                        InitialState::Ok
                    }
                }
            }
            Key::MaxCheckAttempts => c.max_check_attempts = ctx.num_of(p, what).unwrap_or(0),
            Key::CheckInterval => c.check_interval = ctx.bounded_f64(p, what, false, 5.0),
            // Nagios rejects a service retry_interval <= 0 and does not check a host's.
            Key::RetryInterval if is_host => {
                c.retry_interval = ctx.f64_of(p, what).unwrap_or(1.0);
                if c.retry_interval < 0.0 {
                    ctx.lenient(p, what, "a non-negative number", 0);
                    c.retry_interval = 0.0;
                }
            }
            Key::RetryInterval => c.retry_interval = ctx.bounded_f64(p, what, true, 1.0),
            Key::ActiveChecksEnabled => {
                c.active_checks_enabled = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::PassiveChecksEnabled => {
                c.passive_checks_enabled = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::Obsess => c.obsess = ctx.bool_of(p, what).unwrap_or(true),
            Key::EventHandlerEnabled => {
                c.event_handler_enabled = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::CheckFreshness => c.check_freshness = ctx.bool_of(p, what).unwrap_or(false),
            Key::FreshnessThreshold => {
                let n = ctx.int_of(p, what);
                c.freshness_threshold = if n >= 0 {
                    u32::try_from(n).unwrap_or(u32::MAX)
                } else if is_host {
                    // add_host() refuses it; add_service() does not check.
                    ctx.invalid(p, what, "expected a non-negative number");
                    0
                } else {
                    ctx.lenient(p, what, "a non-negative number", 0);
                    0
                };
            }
            Key::LowFlapThreshold => c.low_flap_threshold = ctx.f64_of(p, what).unwrap_or(0.0),
            Key::HighFlapThreshold => c.high_flap_threshold = ctx.f64_of(p, what).unwrap_or(0.0),
            Key::FlapDetectionEnabled => {
                c.flap_detection_enabled = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::FlapDetectionOptions => {
                c.flap_detection_options = ctx
                    .opts_of(p, what, flap_letters)
                    .unwrap_or(c.flap_detection_options)
            }
            Key::NotificationOptions => {
                c.notification_options = ctx
                    .opts_of(p, what, notif_letters)
                    .unwrap_or(c.notification_options)
            }
            Key::NotificationsEnabled => {
                c.notifications_enabled = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::NotificationInterval => {
                c.notification_interval = ctx.bounded_f64(p, what, false, 30.0)
            }
            Key::FirstNotificationDelay => {
                c.first_notification_delay = ctx.bounded_f64(p, what, false, 0.0)
            }
            Key::StalkingOptions => {
                c.stalking_options = ctx.opts_of(p, what, stalk_letters).unwrap_or_default()
            }
            Key::ProcessPerfData => c.process_perf_data = ctx.bool_of(p, what).unwrap_or(true),
            Key::RetainStatusInformation => {
                c.retain_status_information = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::RetainNonstatusInformation => {
                c.retain_nonstatus_information = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::Importance => c.importance = ctx.num_of(p, what).unwrap_or(0),
            Key::Contacts => {
                for n in list(&p.value) {
                    match cfg.contact_index.get(n) {
                        Some(&id) => c.contacts.push(id),
                        None => {
                            let loc = ctx.p_loc(p);
                            ctx.diags.error(
                                Kind::Undefined,
                                loc,
                                Some(what.to_owned()),
                                format!("contact '{n}' is not defined"),
                            );
                        }
                    }
                }
            }
            Key::ContactGroups => {
                for n in list(&p.value) {
                    match cfg.contactgroup_index.get(n) {
                        Some(&id) => c.contact_groups.push(id),
                        None => {
                            let loc = ctx.p_loc(p);
                            ctx.diags.error(
                                Kind::Undefined,
                                loc,
                                Some(what.to_owned()),
                                format!("contactgroup '{n}' is not defined"),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if r.get(Key::Contacts).is_some_and(|p| p.value == "null")
        && r.get(Key::ContactGroups).is_none_or(|p| p.value == "null")
    {
        refs.has_contacts = true;
    }
    (c, refs)
}

/// The fast path for a host or service definition that only names templates and sets
/// some of [`fast_keys`]: the template part is resolved and typed once per `use` list.
/// Returns a resolved view holding the object's own directives plus the base's values of
/// the fast keys, or `None` when the definition needs the full path.
fn fast_resolved<'r>(
    ctx: &mut Ctx<'r>,
    cfg: &Config,
    d: usize,
    is_host: bool,
) -> Option<(Resolved<'r>, Rc<Base<'r>>)> {
    let keys = fast_keys(is_host);
    let kind = if is_host {
        ObjectKind::Host
    } else {
        ObjectKind::Service
    };
    let def = &ctx.defs[d];
    if def.name.is_some()
        || def.kind != kind
        || !def.tplines.is_empty()
        || def
            .props
            .iter()
            .any(|p| !keys.contains(&p.key) || p.value == "null" || p.value.starts_with('+'))
        || def
            .uses
            .iter()
            .any(|u| !ctx.templates.contains_key(&(kind, *u)))
    {
        return None;
    }
    let slot = usize::from(!is_host);
    let base = match ctx.bases[slot].get(def.uses.as_slice()) {
        Some(Some(b)) => Rc::clone(b),
        Some(None) => return None,
        None => {
            let uses = def.uses.clone();
            let b = build_base(ctx, cfg, d, kind, &uses, is_host).map(Rc::new);
            ctx.bases[slot].insert(uses, b.clone());
            b?
        }
    };
    let def = &ctx.defs[d];
    let mut r = Resolved {
        props: Vec::with_capacity(keys.len()),
        custom: def.custom.clone(),
        ..Resolved::default()
    };
    for p in &def.props {
        r.set(p.key);
        r.props.push(p.clone());
    }
    for &k in keys {
        if !r.has(k) {
            if let Some(p) = base.r.get(k) {
                r.set(k);
                r.props.push(p.clone());
            }
        }
    }
    Some((r, base))
}

/// Resolve and type the templates of a `use` list alone. `None` when that produces any
/// diagnostic: the objects then take the full path, which reports them per object.
fn build_base<'r>(
    ctx: &mut Ctx<'r>,
    cfg: &Config,
    d: usize,
    kind: ObjectKind,
    uses: &[&'r str],
    is_host: bool,
) -> Option<Base<'r>> {
    let before = ctx.diags.len();
    let mut r = Resolved::default();
    let mut pending = Vec::new();
    ctx.merge_templates(d, kind, uses, &mut r, &mut pending);
    if ctx.diags.len() != before {
        // Template problems (circular `use`) are reported once, as the full path would.
        return None;
    }
    let (common, refs) = build_checkable(ctx, cfg, &r, "", is_host, "");
    let (is_volatile, parallelize) = if is_host {
        (false, true)
    } else {
        service_flags(ctx, &r, "")
    };
    if ctx.diags.len() != before {
        ctx.diags.truncate(before);
        return None;
    }
    Some(Base {
        r,
        common,
        refs,
        is_volatile,
        parallelize,
    })
}

/// `is_volatile` and `parallelize_check`.
fn service_flags(ctx: &mut Ctx<'_>, r: &Resolved<'_>, what: &str) -> (bool, bool) {
    let mut is_volatile = false;
    let mut parallelize = true;
    for p in r.props.iter().filter(|p| p.value != "null") {
        match p.key {
            Key::IsVolatile => is_volatile = ctx.num_of::<u8>(p, what).is_some_and(|v| v > 0),
            Key::ParallelizeCheck => parallelize = ctx.bool_of(p, what).unwrap_or(true),
            _ => {}
        }
    }
    (is_volatile, parallelize)
}

/// The typed settings of a fast-path object: the base's, with the object's own
/// `check_command`, `display_name` and custom variables applied.
fn fast_checkable(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    d: usize,
    base: &Base<'_>,
    r: &Resolved<'_>,
    what: &str,
    display_default: &str,
) -> (Checkable, CheckableRefs) {
    let mut c = base.common.clone();
    c.display_name = r.val(Key::DisplayName).unwrap_or(display_default).into();
    let own_cmd = ctx.defs[d]
        .props
        .iter()
        .find(|p| p.key == Key::CheckCommand)
        .cloned();
    if let Some(p) = own_cmd {
        c.check_command = None;
        let v = p.value.trim();
        let v = v.strip_prefix('!').unwrap_or(v);
        if v != "null" && !v.is_empty() {
            c.check_command = cmd_call(ctx, cfg, &p, v, what);
        }
    }
    let own = &ctx.defs[d].custom;
    if !own.is_empty() {
        let mut vars: CustomVars = Vec::with_capacity(own.len() + c.custom_vars.len());
        vars.extend(
            own.iter()
                .map(|cv| (cv.name.clone(), Box::from(&*cv.value))),
        );
        vars.extend(
            base.common
                .custom_vars
                .iter()
                .filter(|(n, _)| !own.iter().any(|o| o.name == *n))
                .cloned(),
        );
        c.custom_vars = vars;
    }
    (c, base.refs)
}

fn finish_contacts(cfg: &Config, c: &mut Checkable) {
    c.notification_contacts = nagios_contact_order(cfg, &c.contacts, &c.contact_groups);
}

fn build_hosts(ctx: &mut Ctx<'_>, cfg: &mut Config) -> Vec<(HostId, P<'static>, String)> {
    let objs = registered(ctx, ObjectKind::Host);
    let mut parents = Vec::new();
    cfg.hosts.reserve(objs.len());
    for d in objs {
        let (r, base) = match fast_resolved(ctx, cfg, d, true) {
            Some((r, b)) => (r, Some(b)),
            None => match resolved(ctx, d) {
                Some(r) => (r, None),
                None => continue,
            },
        };
        let loc = ctx.def_loc(d);
        let Some(name) = r.val(Key::HostName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "host has no 'host_name'",
            );
            continue;
        };
        let what = format!("host '{name}'");
        ctx.check_name(name, &what, loc.clone());
        if let Some(&prev) = cfg.host_index.get(name) {
            let prev_loc = cfg.hosts[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let (mut common, refs) = match &base {
            Some(b) => fast_checkable(ctx, cfg, d, b, &r, &what, name),
            None => build_checkable(ctx, cfg, &r, &what, true, name),
        };
        finish_contacts(cfg, &mut common);
        let id = HostId(u32::try_from(cfg.hosts.len()).unwrap_or(u32::MAX));
        ctx.host_have.push(Have {
            notification_interval: refs.has_notification_interval,
            notification_period: refs.has_notification_period,
        });
        if let Some(p) = r.get(Key::Parents) {
            if p.value != "null" && !p.value.is_empty() {
                parents.push((
                    id,
                    P {
                        key: p.key,
                        value: Cow::Owned(p.value.to_string()),
                        file: p.file,
                        line: p.line,
                    },
                    what.clone(),
                ));
            }
        }
        if let Some(p) = r.get(Key::Hostgroups) {
            if p.value != "null" && !p.value.is_empty() {
                ctx.host_groups_of
                    .push((id, p.value.to_string(), p.file, p.line));
            }
        }
        cfg.host_index.insert(name.into(), id);
        cfg.hosts.push(Host {
            id,
            name: name.into(),
            alias: r.val(Key::Alias).unwrap_or(name).into(),
            address: r.val(Key::Address).unwrap_or(name).into(),
            parents: Vec::new(),
            children: Vec::new(),
            hostgroups: Vec::new(),
            services: Vec::new(),
            common,
            location: loc.unwrap_or_else(dummy_loc),
        });
    }
    parents
}

fn link_host_parents(
    ctx: &mut Ctx<'_>,
    cfg: &mut Config,
    parents: Vec<(HostId, P<'static>, String)>,
) {
    for (id, p, what) in parents {
        for n in list(&p.value) {
            match cfg.host_index.get(n) {
                Some(&pid) if pid == id => {
                    let loc = ctx.p_loc(&p);
                    ctx.diags.error(
                        Kind::Circular,
                        loc,
                        Some(what.clone()),
                        "host is its own parent",
                    );
                }
                Some(&pid) => {
                    cfg.hosts[id.index()].parents.push(pid);
                    cfg.hosts[pid.index()].children.push(id);
                }
                None => {
                    let loc = ctx.p_loc(&p);
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(what.clone()),
                        format!("parent host '{n}' is not defined"),
                    );
                }
            }
        }
    }
}

fn build_hostgroups(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = group_defs(ctx, ObjectKind::HostGroup);
    let mut pending = Vec::new();
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let unregistered = !ctx.defs[d].register;
        if unregistered
            && r.val(Key::HostgroupName)
                .is_none_or(|n| cfg.hostgroup_index.contains_key(n))
        {
            // A pure template, or a name already taken: nothing to gather.
            continue;
        }
        let Some(name) = r.val(Key::HostgroupName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "hostgroup has no 'hostgroup_name'",
            );
            continue;
        };
        let what = format!("hostgroup '{name}'");
        ctx.check_name(name, &what, loc.clone());
        if let Some(&prev) = cfg.hostgroup_index.get(name) {
            let prev_loc = cfg.hostgroups[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let id = HostGroupId(u32::try_from(cfg.hostgroups.len()).unwrap_or(u32::MAX));
        cfg.hostgroup_index.insert(name.into(), id);
        if unregistered {
            ctx.unregistered_hostgroups.push(id);
        }
        cfg.hostgroups.push(HostGroup {
            id,
            name: name.into(),
            alias: r.val(Key::Alias).unwrap_or(name).into(),
            members: Vec::new(),
            notes: r.val(Key::Notes).map(Into::into),
            notes_url: r.val(Key::NotesUrl).map(Into::into),
            action_url: r.val(Key::ActionUrl).map(Into::into),
            location: loc.unwrap_or_else(dummy_loc),
        });
        let members = r
            .get(Key::Members)
            .filter(|p| p.value != "null")
            .map(|p| (p.value.to_string(), p.file, p.line));
        let subs = r
            .get(Key::HostgroupMembers)
            .filter(|p| p.value != "null")
            .map(|p| (p.value.to_string(), p.file, p.line));
        pending.push((id, members, subs, what));
    }
    let back = std::mem::take(&mut ctx.host_groups_of);
    for (hid, value, file, line) in back {
        for g in list(&value) {
            match cfg.hostgroup_index.get(g) {
                Some(&gid) => cfg.hostgroups[gid.index()].members.push(hid),
                None => {
                    let loc = ctx.loc(file, line);
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(format!("host '{}'", cfg.hosts[hid.index()].name)),
                        format!("hostgroup '{g}' is not defined"),
                    );
                }
            }
        }
    }
    let mut subs_map: HashMap<HostGroupId, Vec<HostGroupId>> = HashMap::new();
    for (id, members, subs, what) in pending {
        if let Some((v, file, line)) = members {
            let (inc, exc) = split_excl(&v);
            let mut add = Vec::new();
            for m in inc {
                if m == "*" {
                    add.extend(cfg.hosts.iter().map(|h| h.id));
                } else if ctx.is_regex_name(m) {
                    if let Some(re) = ctx.regex(m) {
                        add.extend(
                            cfg.hosts
                                .iter()
                                .filter(|h| re.is_match(&h.name))
                                .map(|h| h.id),
                        );
                    }
                } else {
                    match cfg.host_index.get(m) {
                        Some(&h) => add.push(h),
                        None => {
                            let loc = ctx.loc(file, line);
                            ctx.diags.error(
                                Kind::Undefined,
                                loc,
                                Some(what.clone()),
                                format!("member host '{m}' is not defined"),
                            );
                        }
                    }
                }
            }
            let exc: HashSet<HostId> = exc
                .iter()
                .filter_map(|m| cfg.host_index.get(*m).copied())
                .collect();
            add.retain(|h| !exc.contains(h));
            cfg.hostgroups[id.index()].members.extend(add);
        }
        if let Some((v, file, line)) = subs {
            let mut sv = Vec::new();
            for m in list(&v) {
                match cfg.hostgroup_index.get(m) {
                    Some(&g) => sv.push(g),
                    None => {
                        let loc = ctx.loc(file, line);
                        ctx.diags.error(
                            Kind::Undefined,
                            loc,
                            Some(what.clone()),
                            format!("hostgroup_members entry '{m}' is not defined"),
                        );
                    }
                }
            }
            subs_map.insert(id, sv);
        }
    }
    let direct: Vec<Vec<HostId>> = cfg.hostgroups.iter().map(|g| g.members.clone()).collect();
    let sub_edges: Vec<Vec<usize>> = (0..cfg.hostgroups.len())
        .map(|g| {
            subs_map
                .get(&HostGroupId(u32::try_from(g).unwrap_or(0)))
                .map(|v| v.iter().map(|x| x.index()).collect())
                .unwrap_or_default()
        })
        .collect();
    let any_loop = on_cycle(&sub_edges).contains(&true);
    if !any_loop {
        for (g, members) in expand_nesting(&direct, &sub_edges).into_iter().enumerate() {
            cfg.hostgroups[g].members = members;
        }
    }
    // With an include loop (an error): walk from every group, as before.
    let walked = if any_loop { cfg.hostgroups.len() } else { 0 };
    for g in 0..walked {
        let mut members = Vec::new();
        let mut seen = HashSet::new();
        let start = HostGroupId(u32::try_from(g).unwrap_or(0));
        let mut stack = vec![start];
        let mut in_loop = false;
        while let Some(x) = stack.pop() {
            if !seen.insert(x) {
                continue;
            }
            members.extend(direct[x.index()].iter().copied());
            if let Some(s) = subs_map.get(&x) {
                in_loop |= s.contains(&start);
                stack.extend(s.iter().copied());
            }
        }
        if in_loop {
            // xodtemplate_recombobulate_hostgroup_subgroups: an error in Nagios 4.
            let hg = &cfg.hostgroups[g];
            ctx.diags.error(
                Kind::Circular,
                Some(hg.location.clone()),
                Some(format!("hostgroup '{}'", hg.name)),
                "hostgroup is part of a hostgroup_members include loop",
            );
        }
        dedup_keep_order(&mut members);
        cfg.hostgroups[g].members = members;
    }
    for gi in 0..cfg.hostgroups.len() {
        let gid = cfg.hostgroups[gi].id;
        for k in 0..cfg.hostgroups[gi].members.len() {
            let h = cfg.hostgroups[gi].members[k];
            cfg.hosts[h.index()].hostgroups.push(gid);
        }
    }
}

fn split_excl(v: &str) -> (Vec<&str>, Vec<&str>) {
    let mut inc = Vec::new();
    let mut exc = Vec::new();
    for t in list(v) {
        match t.strip_prefix('!') {
            Some(x) => exc.push(x.trim()),
            None => inc.push(t),
        }
    }
    (inc, exc)
}

/// Expand `host_name` / `hostgroup_name` lists into hosts. Returns (direct, via groups)
/// or an error message.
fn expand_hosts(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    host_names: Option<&str>,
    hostgroup_names: Option<&str>,
) -> Result<(Vec<HostId>, Vec<HostId>), String> {
    // The common case, one plain host name: no lists to build.
    if let (Some(v), None) = (host_names, hostgroup_names) {
        let v = v.trim();
        if !v.is_empty() && !v.contains([',', '!', '*']) && !ctx.is_regex_name(v) {
            if let Some(&h) = cfg.host_index.get(v) {
                return Ok((vec![h], Vec::new()));
            }
        }
    }
    let mut direct = Vec::new();
    let mut excluded: Vec<HostId> = Vec::new();
    if let Some(v) = host_names {
        let (inc, exc) = split_excl(v);
        for m in inc {
            if m == "*" {
                direct.extend(cfg.hosts.iter().map(|h| h.id));
            } else if ctx.is_regex_name(m) {
                let Some(re) = ctx.regex(m) else {
                    return Err(format!("invalid regular expression '{m}'"));
                };
                direct.extend(
                    cfg.hosts
                        .iter()
                        .filter(|h| re.is_match(&h.name))
                        .map(|h| h.id),
                );
            } else {
                match cfg.host_index.get(m) {
                    Some(&h) => direct.push(h),
                    None => return Err(format!("could not find any host matching '{m}'")),
                }
            }
        }
        for m in exc {
            match cfg.host_index.get(m) {
                Some(&h) => excluded.push(h),
                None if m == "*" => excluded.extend(cfg.hosts.iter().map(|h| h.id)),
                None => return Err(format!("could not find any host matching '{m}'")),
            }
        }
    }
    let mut via = Vec::new();
    if let Some(v) = hostgroup_names {
        let (inc, exc) = split_excl(v);
        for g in inc {
            if g == "*" {
                for hg in &cfg.hostgroups {
                    via.extend(hg.members.iter().copied());
                }
                continue;
            }
            if ctx.is_regex_name(g) {
                let Some(re) = ctx.regex(g) else {
                    return Err(format!("invalid regular expression '{g}'"));
                };
                for hg in cfg.hostgroups.iter().filter(|hg| re.is_match(&hg.name)) {
                    via.extend(hg.members.iter().copied());
                }
                continue;
            }
            match cfg.hostgroup_index.get(g) {
                Some(&gid) => {
                    // An empty group is not an error here, whatever
                    // allow_empty_hostgroup_assignment says: nagios4 -v accepts it (the
                    // caller warns when nothing is left).
                    via.extend(cfg.hostgroups[gid.index()].members.iter().copied());
                }
                None => return Err(format!("could not find a hostgroup matching '{g}'")),
            }
        }
        for g in exc {
            match cfg.hostgroup_index.get(g) {
                Some(&gid) => excluded.extend(cfg.hostgroups[gid.index()].members.iter().copied()),
                None => return Err(format!("could not find a hostgroup matching '{g}'")),
            }
        }
    }
    if !excluded.is_empty() {
        let ex: HashSet<HostId> = excluded.into_iter().collect();
        direct.retain(|h| !ex.contains(h));
        via.retain(|h| !ex.contains(h));
    }
    dedup_keep_order(&mut direct);
    dedup_keep_order(&mut via);
    if direct.len() + via.len() > 0 && !via.is_empty() && !direct.is_empty() {
        let d: HashSet<HostId> = direct.iter().copied().collect();
        via.retain(|h| !d.contains(h));
    }
    Ok((direct, via))
}

/// A cheap value left behind when a prototype's settings are moved into the last copy.
fn placeholder_checkable() -> Checkable {
    Checkable {
        display_name: Box::from(""),
        check_command: None,
        check_period: None,
        event_handler: None,
        notification_period: None,
        initial_state: InitialState::Ok,
        max_check_attempts: 0,
        check_interval: 0.0,
        retry_interval: 0.0,
        active_checks_enabled: false,
        passive_checks_enabled: false,
        obsess: false,
        event_handler_enabled: false,
        check_freshness: false,
        freshness_threshold: 0,
        low_flap_threshold: 0.0,
        high_flap_threshold: 0.0,
        flap_detection_enabled: false,
        flap_detection_options: Options::NONE,
        notification_options: Options::NONE,
        notifications_enabled: false,
        notification_interval: 0.0,
        first_notification_delay: 0.0,
        stalking_options: Options::NONE,
        process_perf_data: false,
        retain_status_information: false,
        retain_nonstatus_information: false,
        contacts: Vec::new(),
        contact_groups: Vec::new(),
        notification_contacts: Vec::new(),
        notes: None,
        notes_url: None,
        action_url: None,
        icon_image: None,
        icon_image_alt: None,
        importance: 0,
        custom_vars: Vec::new(),
    }
}

fn build_services(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = registered(ctx, ObjectKind::Service);
    // (def, resolved template checkable, refs, description, hosts direct, hosts via groups)
    struct Proto {
        d: usize,
        desc: Box<str>,
        common: Arc<Checkable>,
        refs: CheckableRefs,
        is_volatile: bool,
        parallelize: bool,
        direct: Vec<HostId>,
        via: Vec<HostId>,
        servicegroups: Option<(String, u32, u32)>,
        parents: Option<(String, u32, u32)>,
        from_hostgroup: bool,
    }
    let mut protos: Vec<Proto> = Vec::with_capacity(objs.len());
    for d in objs {
        let (r, base) = match fast_resolved(ctx, cfg, d, false) {
            Some((r, b)) => (r, Some(b)),
            None => match resolved(ctx, d) {
                Some(r) => (r, None),
                None => continue,
            },
        };
        let loc = ctx.def_loc(d);
        let Some(desc) = r.val(Key::ServiceDescription) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "service has no 'service_description'",
            );
            continue;
        };
        let hn = r.val(Key::HostName);
        let hg = r.val(Key::HostgroupName);
        let what = format!("service '{desc}'");
        if hn.is_none() && hg.is_none() {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(what),
                "service has neither 'host_name' nor 'hostgroup_name'",
            );
            continue;
        }
        let (direct, via) = match expand_hosts(ctx, cfg, hn, hg) {
            Ok(x) => x,
            Err(e) => {
                ctx.diags.error(Kind::Undefined, loc, Some(what), e);
                continue;
            }
        };
        if direct.is_empty() && via.is_empty() {
            // Exclusions or empty hostgroups left no host. Nagios 4.4.6 creates no
            // service and accepts the configuration, even with
            // allow_empty_hostgroup_assignment=0.
            if ctx.main.allow_empty_hostgroup_assignment != 1 || hg.is_none() {
                ctx.diags.warning(
                    Kind::Undefined,
                    loc,
                    Some(what),
                    "the host list matches no host; no service created",
                );
            }
            continue;
        }
        ctx.check_name(desc, &what, loc.clone());
        let (common, refs, is_volatile, parallelize) = match &base {
            Some(b) => {
                let (c, refs) = fast_checkable(ctx, cfg, d, b, &r, &what, desc);
                (c, refs, b.is_volatile, b.parallelize)
            }
            None => {
                let (c, refs) = build_checkable(ctx, cfg, &r, &what, false, desc);
                let (v, p) = service_flags(ctx, &r, &what);
                (c, refs, v, p)
            }
        };
        let servicegroups = r
            .get(Key::Servicegroups)
            .filter(|p| p.value != "null" && !p.value.is_empty())
            .map(|p| (p.value.to_string(), p.file, p.line));
        let parents = r
            .get(Key::Parents)
            .filter(|p| p.value != "null" && !p.value.trim().is_empty())
            .map(|p| (p.value.to_string(), p.file, p.line));
        if common.check_command.is_none() && r.val(Key::CheckCommand).is_none() {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(what),
                "service has no 'check_command'",
            );
        }
        let shared =
            refs.has_contacts && refs.has_notification_interval && refs.has_notification_period;
        let mut common = common;
        if shared {
            // Nothing comes from the host: every copy shares one value.
            finish_contacts(cfg, &mut common);
        }
        protos.push(Proto {
            d,
            desc: desc.into(),
            common: Arc::new(common),
            refs,
            is_volatile,
            parallelize,
            direct,
            via,
            servicegroups,
            parents,
            from_hostgroup: hg.is_some(),
        });
    }
    let n_services: usize = protos.iter().map(|p| p.direct.len() + p.via.len()).sum();
    cfg.services.reserve(n_services);
    // Per service while building: its servicegroups directive, and (definition, whether
    // the host is the definition's "original" host) for duplicate resolution.
    let mut sg_of: Vec<Option<(String, u32, u32)>> = Vec::with_capacity(n_services);
    // Per service: its `parents` directive (the winning definition's, for duplicates).
    let mut parents_of: Vec<Option<(String, u32, u32)>> = Vec::with_capacity(n_services);
    let mut origin: Vec<(usize, bool)> = Vec::with_capacity(n_services);
    // Duplicates (same host and description) are resolved as Nagios 4 does
    // (xodtemplate_duplicate_services, checked against nagios4 -v/-p): definitions
    // without `hostgroup_name` are registered first and always beat those with one.
    // Within each class Nagios walks its object list, where a multi-host definition keeps
    // its "original" host (the first `host_name`, the last hostgroup member) at its own
    // place in reverse definition order and gets copies for the other hosts in
    // definition order ahead of all originals; the first registered wins. So a later
    // definition replaces an earlier one exactly when the earlier one was for its
    // original host: two single-host definitions → the last wins.
    let classes: Vec<(usize, bool)> = protos.iter().map(|p| (p.d, p.from_hostgroup)).collect();
    for pass in 0..2 {
        for (pi, pr) in protos.iter_mut().enumerate() {
            if pr.from_hostgroup != (pass == 1) {
                continue;
            }
            let mut hosts = std::mem::take(&mut pr.direct);
            hosts.append(&mut pr.via);
            let original = if pr.from_hostgroup {
                hosts.last().copied()
            } else {
                hosts.first().copied()
            };
            let n_hosts = hosts.len();
            for (hi, h) in hosts.into_iter().enumerate() {
                let last_use = hi + 1 == n_hosts;
                let is_original = Some(h) == original;
                let replace = match cfg.find_service(h, &pr.desc) {
                    Some(prev) => {
                        let (prev_def, prev_original) = origin[prev.index()];
                        let prev_class = classes[prev_def].1;
                        let new_wins = prev_original && prev_class == pr.from_hostgroup;
                        let (lost_d, won_loc) = if new_wins {
                            (classes[prev_def].0, ctx.def_loc(pr.d))
                        } else {
                            (pr.d, Some(cfg.services[prev.index()].location.clone()))
                        };
                        let loc = ctx.def_loc(lost_d);
                        let won = won_loc.map(|l| l.to_string()).unwrap_or_default();
                        ctx.diags.warning(
                            Kind::Duplicate,
                            loc,
                            Some(format!(
                                "service '{}' on host '{}'",
                                pr.desc,
                                cfg.hosts[h.index()].name
                            )),
                            format!(
                                "duplicate definition ignored (the definition at {won} is used)"
                            ),
                        );
                        if !new_wins {
                            continue;
                        }
                        Some(prev)
                    }
                    None => None,
                };
                let common = if pr.refs.has_contacts
                    && pr.refs.has_notification_interval
                    && pr.refs.has_notification_period
                {
                    Arc::clone(&pr.common)
                } else {
                    let mut common = if last_use {
                        Arc::unwrap_or_clone(std::mem::replace(
                            &mut pr.common,
                            Arc::new(placeholder_checkable()),
                        ))
                    } else {
                        Checkable::clone(&pr.common)
                    };
                    let host = &cfg.hosts[h.index()];
                    // Implied inheritance from the host.
                    if !pr.refs.has_contacts {
                        common.contacts = host.common.contacts.clone();
                        common.contact_groups = host.common.contact_groups.clone();
                    }
                    if !pr.refs.has_notification_interval {
                        common.notification_interval = host.common.notification_interval;
                    }
                    if !pr.refs.has_notification_period {
                        common.notification_period = host.common.notification_period;
                    }
                    finish_contacts(cfg, &mut common);
                    Arc::new(common)
                };
                let location = ctx.def_loc(pr.d).unwrap_or_else(dummy_loc);
                let host_have = ctx.host_have.get(h.index()).copied().unwrap_or_default();
                let have = Have {
                    notification_interval: pr.refs.has_notification_interval
                        || host_have.notification_interval,
                    notification_period: pr.refs.has_notification_period
                        || host_have.notification_period,
                };
                if let Some(prev) = replace {
                    if let Some(x) = ctx.service_have.get_mut(prev.index()) {
                        *x = have;
                    }
                    let s = &mut cfg.services[prev.index()];
                    s.is_volatile = pr.is_volatile;
                    s.parallelize_check = pr.parallelize;
                    s.common = common;
                    s.location = location;
                    sg_of[prev.index()] = pr.servicegroups.clone();
                    parents_of[prev.index()] = pr.parents.clone();
                    origin[prev.index()] = (pi, is_original);
                    continue;
                }
                let id = ServiceId(u32::try_from(cfg.services.len()).unwrap_or(u32::MAX));
                sg_of.push(pr.servicegroups.clone());
                parents_of.push(pr.parents.clone());
                origin.push((pi, is_original));
                ctx.service_have.push(have);
                cfg.hosts[h.index()].services.push(id);
                cfg.services.push(Service {
                    id,
                    host: h,
                    description: pr.desc.clone(),
                    servicegroups: Vec::new(),
                    is_volatile: pr.is_volatile,
                    parallelize_check: pr.parallelize,
                    parents: Vec::new(),
                    common,
                    location,
                });
                cfg.index_service(id);
            }
        }
    }
    let sg_back: Vec<(ServiceId, String, u32, u32)> = sg_of
        .into_iter()
        .enumerate()
        .filter_map(|(i, sg)| {
            let (v, f, l) = sg?;
            Some((ServiceId(u32::try_from(i).unwrap_or(u32::MAX)), v, f, l))
        })
        .collect();
    ctx.service_groups_of = sg_back;
    link_service_parents(ctx, cfg, parents_of);
}

/// Resolve service `parents` as Nagios 4.4.6 does (checked against `nagios4 -v` and the
/// `objects.cache` of a running nagios4):
///
/// * a value without a comma names one service on the same host, taken literally
///   (`parents PING`);
/// * otherwise it is a list of `host,description` pairs; the description may be `*` (all
///   services of the host) or, with `use_regexp_matching`, a regular expression, and so
///   may the host name; a pair that matches nothing is an error, so is an odd count;
/// * `!description` pairs are accepted and have no effect (Nagios only rejects them
///   from the match it throws away); Picket warns;
/// * `unknown_host,*` is accepted by Nagios and names nothing; Picket warns;
/// * a service cannot be its own parent; repeated parents count once; cycles between
///   services are not an error (Nagios does not check them).
fn link_service_parents(
    ctx: &mut Ctx<'_>,
    cfg: &mut Config,
    parents_of: Vec<Option<(String, u32, u32)>>,
) {
    for (i, directive) in parents_of.into_iter().enumerate() {
        let Some((value, file, line)) = directive else {
            continue;
        };
        let sid = ServiceId(u32::try_from(i).unwrap_or(u32::MAX));
        let Some(svc) = cfg.services.get(i) else {
            continue;
        };
        let host = svc.host;
        let host_name = cfg.hosts[host.index()].name.clone();
        let what = format!("service '{}' on host '{host_name}'", svc.description);
        let mut found: Vec<ServiceId> = Vec::new();
        let mut problems: Vec<(Severity, Kind, String)> = Vec::new();
        if !value.contains(',') {
            let d = value.trim();
            match cfg.find_service(host, d) {
                Some(p) => found.push(p),
                None => problems.push((
                    Severity::Error,
                    Kind::Undefined,
                    format!("parent service '{d}' on host '{host_name}' is not defined"),
                )),
            }
        } else {
            let items: Vec<&str> = list(&value).collect();
            if items.len() % 2 != 0 {
                problems.push((
                    Severity::Error,
                    Kind::InvalidValue,
                    format!(
                        "service description missing from parents list '{}' \
                         (expected host,service pairs)",
                        value.trim()
                    ),
                ));
            }
            for pair in items.chunks_exact(2) {
                let (h, d) = (pair[0], pair[1]);
                if d.starts_with('!') {
                    problems.push((
                        Severity::Warning,
                        Kind::InvalidValue,
                        format!("exclusion '{h},{d}' in parents has no effect (Nagios ignores it)"),
                    ));
                    continue;
                }
                match parent_pair(ctx, cfg, h, d) {
                    Ok(v) => found.extend(v),
                    Err((sev, e)) => problems.push((sev, Kind::Undefined, e)),
                }
            }
        }
        if found.contains(&sid) {
            found.retain(|&p| p != sid);
            problems.push((
                Severity::Error,
                Kind::Circular,
                "service is its own parent".to_owned(),
            ));
        }
        dedup_keep_order(&mut found);
        for (sev, kind, msg) in problems {
            let loc = ctx.loc(file, line);
            match sev {
                Severity::Error => ctx.diags.error(kind, loc, Some(what.clone()), msg),
                Severity::Warning => ctx.diags.warning(kind, loc, Some(what.clone()), msg),
            }
        }
        cfg.services[i].parents = found;
    }
}

/// The services one `host,description` pair of a service `parents` list names. With
/// `use_regexp_matching`, a `*` description is a regular expression, an invalid one, as
/// in Nagios.
fn parent_pair(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    h: &str,
    d: &str,
) -> Result<Vec<ServiceId>, (Severity, String)> {
    let invalid = |p: &str| {
        (
            Severity::Error,
            format!("invalid regular expression '{p}' in parents"),
        )
    };
    let host_re = if ctx.is_regex_name(h) {
        Some(ctx.regex(h).ok_or_else(|| invalid(h))?)
    } else {
        None
    };
    let desc_re = if ctx.is_regex_name(d) {
        Some(ctx.regex(d).ok_or_else(|| invalid(d))?)
    } else {
        None
    };
    if host_re.is_none() && desc_re.is_none() && d != "*" {
        return cfg.service_by_name(h, d).map(|s| vec![s]).ok_or_else(|| {
            (
                Severity::Error,
                format!("parent service '{d}' on host '{h}' is not defined"),
            )
        });
    }
    let hosts: Vec<HostId> = match &host_re {
        Some(re) => cfg
            .hosts
            .iter()
            .filter(|x| re.is_match(&x.name))
            .map(|x| x.id)
            .collect(),
        // nagios4 -v accepts `unknown,*` and links nothing.
        None => vec![cfg.host_by_name(h).ok_or_else(|| {
            (
                Severity::Warning,
                format!("parent host '{h}' is not defined; '{h},{d}' names no service"),
            )
        })?],
    };
    let mut out = Vec::new();
    for hid in hosts {
        for &s in &cfg.hosts[hid.index()].services {
            let sd = &*cfg.services[s.index()].description;
            let m = match &desc_re {
                Some(re) => re.is_match(sd),
                None => d == "*" || sd == d,
            };
            if m {
                out.push(s);
            }
        }
    }
    if out.is_empty() && !(host_re.is_none() && d == "*") {
        return Err((
            Severity::Error,
            format!("no service matches host '{h}' and description '{d}' in parents"),
        ));
    }
    Ok(out)
}

fn build_servicegroups(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = group_defs(ctx, ObjectKind::ServiceGroup);
    let mut pending = Vec::new();
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let unregistered = !ctx.defs[d].register;
        if unregistered
            && r.val(Key::ServicegroupName)
                .is_none_or(|n| cfg.servicegroup_index.contains_key(n))
        {
            // A pure template, or a name already taken: nothing to gather.
            continue;
        }
        let Some(name) = r.val(Key::ServicegroupName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "servicegroup has no 'servicegroup_name'",
            );
            continue;
        };
        let what = format!("servicegroup '{name}'");
        ctx.check_name(name, &what, loc.clone());
        if let Some(&prev) = cfg.servicegroup_index.get(name) {
            let prev_loc = cfg.servicegroups[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let id = ServiceGroupId(u32::try_from(cfg.servicegroups.len()).unwrap_or(u32::MAX));
        cfg.servicegroup_index.insert(name.into(), id);
        if unregistered {
            ctx.unregistered_servicegroups.push(id);
        }
        cfg.servicegroups.push(ServiceGroup {
            id,
            name: name.into(),
            alias: r.val(Key::Alias).unwrap_or(name).into(),
            members: Vec::new(),
            notes: r.val(Key::Notes).map(Into::into),
            notes_url: r.val(Key::NotesUrl).map(Into::into),
            action_url: r.val(Key::ActionUrl).map(Into::into),
            location: loc.unwrap_or_else(dummy_loc),
        });
        let members = r
            .get(Key::Members)
            .filter(|p| p.value != "null")
            .map(|p| (p.value.to_string(), p.file, p.line));
        let subs = r
            .get(Key::ServicegroupMembers)
            .filter(|p| p.value != "null")
            .map(|p| (p.value.to_string(), p.file, p.line));
        pending.push((id, members, subs, what));
    }
    let back = std::mem::take(&mut ctx.service_groups_of);
    for (sid, value, file, line) in back {
        for g in list(&value) {
            match cfg.servicegroup_index.get(g) {
                Some(&gid) => cfg.servicegroups[gid.index()].members.push(sid),
                None => {
                    let loc = ctx.loc(file, line);
                    let s = &cfg.services[sid.index()];
                    let what = format!(
                        "service '{}' on host '{}'",
                        s.description,
                        cfg.hosts[s.host.index()].name
                    );
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(what),
                        format!("servicegroup '{g}' is not defined"),
                    );
                }
            }
        }
    }
    let mut subs_map: HashMap<ServiceGroupId, Vec<ServiceGroupId>> = HashMap::new();
    for (id, members, subs, what) in pending {
        if let Some((v, file, line)) = members {
            let items: Vec<&str> = list(&v).collect();
            if items.len() % 2 != 0 {
                let loc = ctx.loc(file, line);
                ctx.diags.error(
                    Kind::InvalidValue,
                    loc,
                    Some(what.clone()),
                    "members must be host,service pairs",
                );
            }
            for pair in items.chunks_exact(2) {
                match cfg.service_by_name(pair[0], pair[1]) {
                    Some(s) => cfg.servicegroups[id.index()].members.push(s),
                    None => {
                        let loc = ctx.loc(file, line);
                        ctx.diags.error(
                            Kind::Undefined,
                            loc,
                            Some(what.clone()),
                            format!(
                                "member service '{}' on host '{}' is not defined",
                                pair[1], pair[0]
                            ),
                        );
                    }
                }
            }
        }
        if let Some((v, file, line)) = subs {
            let mut sv = Vec::new();
            for m in list(&v) {
                match cfg.servicegroup_index.get(m) {
                    Some(&g) => sv.push(g),
                    None => {
                        let loc = ctx.loc(file, line);
                        ctx.diags.error(
                            Kind::Undefined,
                            loc,
                            Some(what.clone()),
                            format!("servicegroup_members entry '{m}' is not defined"),
                        );
                    }
                }
            }
            subs_map.insert(id, sv);
        }
    }
    let direct: Vec<Vec<ServiceId>> = cfg
        .servicegroups
        .iter()
        .map(|g| g.members.clone())
        .collect();
    let sub_edges: Vec<Vec<usize>> = (0..cfg.servicegroups.len())
        .map(|g| {
            subs_map
                .get(&ServiceGroupId(u32::try_from(g).unwrap_or(0)))
                .map(|v| v.iter().map(|x| x.index()).collect())
                .unwrap_or_default()
        })
        .collect();
    let any_loop = on_cycle(&sub_edges).contains(&true);
    if !any_loop {
        for (g, members) in expand_nesting(&direct, &sub_edges).into_iter().enumerate() {
            cfg.servicegroups[g].members = members;
        }
    }
    // With an include loop (an error): walk from every group, as before.
    let walked = if any_loop { cfg.servicegroups.len() } else { 0 };
    for g in 0..walked {
        let mut members = Vec::new();
        let mut seen = HashSet::new();
        let start = ServiceGroupId(u32::try_from(g).unwrap_or(0));
        let mut stack = vec![start];
        let mut in_loop = false;
        while let Some(x) = stack.pop() {
            if !seen.insert(x) {
                continue;
            }
            members.extend(direct[x.index()].iter().copied());
            if let Some(s) = subs_map.get(&x) {
                in_loop |= s.contains(&start);
                stack.extend(s.iter().copied());
            }
        }
        if in_loop {
            let sg = &cfg.servicegroups[g];
            ctx.diags.error(
                Kind::Circular,
                Some(sg.location.clone()),
                Some(format!("servicegroup '{}'", sg.name)),
                "servicegroup is part of a servicegroup_members include loop",
            );
        }
        dedup_keep_order(&mut members);
        cfg.servicegroups[g].members = members;
    }
    for gi in 0..cfg.servicegroups.len() {
        let gid = cfg.servicegroups[gi].id;
        for k in 0..cfg.servicegroups[gi].members.len() {
            let s = cfg.servicegroups[gi].members[k];
            cfg.services[s.index()].servicegroups.push(gid);
        }
    }
}

// ---------------------------------------------------------------------------
// Dependencies and escalations

/// Services named by a description list on the given hosts (`*` = all).
fn match_services(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    hosts: &[HostId],
    descs: &str,
) -> Result<Vec<ServiceId>, String> {
    let mut out = Vec::new();
    let (inc, exc) = split_excl(descs);
    for d in inc {
        let re = if d != "*" && ctx.is_regex_name(d) {
            Some(
                ctx.regex(d)
                    .ok_or_else(|| format!("invalid regular expression '{d}'"))?,
            )
        } else {
            None
        };
        let mut found = false;
        for &h in hosts {
            for &s in &cfg.hosts[h.index()].services {
                let sd = &cfg.services[s.index()].description;
                let m = match &re {
                    Some(re) => re.is_match(sd),
                    None => d == "*" || **sd == *d,
                };
                if m {
                    out.push(s);
                    found = true;
                }
            }
        }
        if !found && re.is_none() && d != "*" {
            return Err(format!("could not find service '{d}' on the given host(s)"));
        }
    }
    if !exc.is_empty() {
        out.retain(|s| !exc.contains(&&*cfg.services[s.index()].description));
    }
    dedup_keep_order(&mut out);
    Ok(out)
}

fn servicegroup_services(cfg: &Config, v: &str) -> Result<Vec<ServiceId>, String> {
    let mut out = Vec::new();
    for g in list(v) {
        match cfg.servicegroup_index.get(g) {
            Some(&gid) => out.extend(cfg.servicegroups[gid.index()].members.iter().copied()),
            None => return Err(format!("could not find servicegroup '{g}'")),
        }
    }
    Ok(out)
}

fn build_dependencies(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = registered(ctx, ObjectKind::ServiceDependency);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let what = ctx.describe(d);
        // No master host, hostgroup or servicegroup but a dependent host, hostgroup or
        // servicegroup: Nagios takes the master on each dependent's own host
        // (`xodtemplate_duplicate_objects`, "same-host servicedependency services").
        let master_on_dependent_host = r.val(Key::HostName).is_none()
            && r.val(Key::HostgroupName).is_none()
            && r.val(Key::ServicegroupName).is_none()
            && (r.val(Key::DependentHostName).is_some()
                || r.val(Key::DependentHostgroupName).is_some()
                || r.val(Key::DependentServicegroupName).is_some());
        let res = (|| -> Result<(Vec<ServiceId>, Vec<ServiceId>), String> {
            let mut masters = Vec::new();
            if master_on_dependent_host {
                // Masters are found per dependent below.
            } else if r.val(Key::HostName).is_some() || r.val(Key::HostgroupName).is_some() {
                let (a, b) =
                    expand_hosts(ctx, cfg, r.val(Key::HostName), r.val(Key::HostgroupName))?;
                let hosts: Vec<HostId> = a.into_iter().chain(b).collect();
                let desc = r
                    .val(Key::ServiceDescription)
                    .ok_or("missing 'service_description'")?;
                masters.extend(match_services(ctx, cfg, &hosts, desc)?);
            }
            if let Some(sg) = r.val(Key::ServicegroupName) {
                masters.extend(servicegroup_services(cfg, sg)?);
            }
            if masters.is_empty() && !master_on_dependent_host {
                return Err("no master service matches".to_owned());
            }
            let mut deps = Vec::new();
            let dh = r.val(Key::DependentHostName);
            let dhg = r.val(Key::DependentHostgroupName);
            let dsg = r.val(Key::DependentServicegroupName);
            if let Some(sg) = dsg {
                deps.extend(servicegroup_services(cfg, sg)?);
            }
            if dh.is_some() || dhg.is_some() || dsg.is_none() {
                let hosts: Vec<HostId> = if dh.is_none() && dhg.is_none() {
                    // Same-host dependency.
                    masters
                        .iter()
                        .map(|s| cfg.services[s.index()].host)
                        .collect()
                } else {
                    let (a, b) = expand_hosts(ctx, cfg, dh, dhg)?;
                    a.into_iter().chain(b).collect()
                };
                let desc = r
                    .val(Key::DependentServiceDescription)
                    .ok_or("missing 'dependent_service_description'")?;
                deps.extend(match_services(ctx, cfg, &hosts, desc)?);
            }
            Ok((masters, deps))
        })();
        let (masters, deps) = match res {
            Ok(x) => x,
            Err(e) => {
                ctx.diags.error(Kind::Undefined, loc, Some(what), e);
                continue;
            }
        };
        // (master, dependent) pairs.
        let mut pairs: Vec<(ServiceId, ServiceId)> = Vec::new();
        if master_on_dependent_host {
            let Some(desc) = r.val(Key::ServiceDescription) else {
                ctx.diags.error(
                    Kind::Undefined,
                    loc,
                    Some(what),
                    "missing 'service_description'",
                );
                continue;
            };
            let mut failed = None;
            for &dep in &deps {
                let host = cfg.services[dep.index()].host;
                match match_services(ctx, cfg, &[host], desc) {
                    Ok(ms) => pairs.extend(ms.into_iter().map(|m| (m, dep))),
                    Err(e) => {
                        failed = Some(format!(
                            "{e}: no master host is named, so the master is looked up on \
                             the dependent's host '{}'",
                            cfg.hosts[host.index()].name
                        ));
                        break;
                    }
                }
            }
            if let Some(e) = failed {
                ctx.diags.error(Kind::Undefined, loc, Some(what), e);
                continue;
            }
        } else {
            // A same-host dependency only when no dependent host, hostgroup or
            // servicegroup is named.
            let same_host_only = r.val(Key::DependentHostName).is_none()
                && r.val(Key::DependentHostgroupName).is_none()
                && r.val(Key::DependentServicegroupName).is_none();
            for &m in &masters {
                for &dep in &deps {
                    if same_host_only
                        && cfg.services[m.index()].host != cfg.services[dep.index()].host
                    {
                        continue;
                    }
                    pairs.push((m, dep));
                }
            }
        }
        let ef = r
            .get(Key::ExecutionFailureCriteria)
            .cloned()
            .map(|p| ctx.opts_of(&p, &what, "owucp"));
        let nf = r
            .get(Key::NotificationFailureCriteria)
            .cloned()
            .map(|p| ctx.opts_of(&p, &what, "owucp"));
        if matches!(ef, Some(None)) || matches!(nf, Some(None)) {
            // An invalid option letter, already reported.
            continue;
        }
        let ef = ef.flatten().unwrap_or_default();
        let nf = nf.flatten().unwrap_or_default();
        if ef.is_empty() && nf.is_empty() {
            // xodtemplate_register_servicedependency: neither execution nor notification
            // criteria (or only 'n'): Nagios warns and drops it.
            ctx.diags.warning(
                Kind::Check,
                loc,
                Some(what),
                "ignoring lame service dependency (no execution_failure_criteria nor \
                 notification_failure_criteria)",
            );
            continue;
        }
        let inherits = r
            .get(Key::InheritsParent)
            .cloned()
            .and_then(|p| ctx.bool_of(&p, &what))
            .unwrap_or(false);
        let period = tp_ref(ctx, cfg, &r, Key::DependencyPeriod, &what);
        // A pair whose master is its dependent (from group expansion) is kept, as Nagios
        // keeps it: it is counted and reported as a circular dependency below.
        for (m, dep) in pairs {
            cfg.servicedependencies.push(ServiceDependency {
                master: m,
                dependent: dep,
                execution_failure: ef,
                notification_failure: nf,
                inherits_parent: inherits,
                period,
                location: loc.clone().unwrap_or_else(dummy_loc),
            });
        }
    }
    let objs = registered(ctx, ObjectKind::HostDependency);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let what = ctx.describe(d);
        let res = (|| -> Result<(Vec<HostId>, Vec<HostId>), String> {
            let (a, b) = expand_hosts(ctx, cfg, r.val(Key::HostName), r.val(Key::HostgroupName))?;
            let masters: Vec<HostId> = a.into_iter().chain(b).collect();
            let (a, b) = expand_hosts(
                ctx,
                cfg,
                r.val(Key::DependentHostName),
                r.val(Key::DependentHostgroupName),
            )?;
            let deps: Vec<HostId> = a.into_iter().chain(b).collect();
            if masters.is_empty() || deps.is_empty() {
                return Err("master or dependent host list is empty".to_owned());
            }
            Ok((masters, deps))
        })();
        let (masters, deps) = match res {
            Ok(x) => x,
            Err(e) => {
                // Nagios 4.4.6 prints "Error: Could not find any host matching ..." for a
                // host dependency but drops the dependency and does not count the error:
                // `nagios -v` accepts the configuration, so Picket warns.
                ctx.diags.warning(
                    Kind::Undefined,
                    loc,
                    Some(what),
                    format!("{e}; the dependency is ignored (as Nagios does)"),
                );
                continue;
            }
        };
        let ef = r
            .get(Key::ExecutionFailureCriteria)
            .cloned()
            .map(|p| ctx.opts_of(&p, &what, "odup"));
        let nf = r
            .get(Key::NotificationFailureCriteria)
            .cloned()
            .map(|p| ctx.opts_of(&p, &what, "odup"));
        if matches!(ef, Some(None)) || matches!(nf, Some(None)) {
            // An invalid option letter, already reported.
            continue;
        }
        let execution_set = ef.is_some();
        let ef = ef.flatten().unwrap_or_default();
        let nf = nf.flatten().unwrap_or_default();
        if ef.is_empty() && nf.is_empty() && !execution_set {
            // Nagios drops it silently (0 host dependencies counted).
            ctx.diags.warning(
                Kind::Check,
                loc,
                Some(what),
                "ignoring lame host dependency (no execution_failure_criteria nor \
                 notification_failure_criteria)",
            );
            continue;
        }
        let inherits = r
            .get(Key::InheritsParent)
            .cloned()
            .and_then(|p| ctx.bool_of(&p, &what))
            .unwrap_or(false);
        let period = tp_ref(ctx, cfg, &r, Key::DependencyPeriod, &what);
        for &m in &masters {
            for &dep in &deps {
                // Kept when m == dep, as for service dependencies.
                cfg.hostdependencies.push(HostDependency {
                    master: m,
                    dependent: dep,
                    execution_failure: ef,
                    execution_set,
                    notification_failure: nf,
                    inherits_parent: inherits,
                    period,
                    location: loc.clone().unwrap_or_else(dummy_loc),
                });
            }
        }
    }
}

/// What one escalation definition says about itself, for [`build_escalation`].
struct EscHead {
    what: String,
    loc: Location,
    letters: &'static str,
    /// Its own `contacts` starts with `+`: add to the object's `contacts`.
    additive_contacts: bool,
    /// Its own `contact_groups` starts with `+`: add to the object's `contact_groups`.
    additive_groups: bool,
}

fn build_escalation(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    r: &Resolved<'_>,
    head: &EscHead,
    obj: &Checkable,
    have: Have,
) -> Escalation {
    let what = head.what.as_str();
    let letters = head.letters;
    let loc = &head.loc;
    let first = r
        .get(Key::FirstNotification)
        .cloned()
        .and_then(|p| ctx.num_of(&p, what))
        .unwrap_or(0);
    let last = r
        .get(Key::LastNotification)
        .cloned()
        .and_then(|p| ctx.num_of(&p, what))
        .unwrap_or(0);
    // xodtemplate_inherit_object_properties: an escalation without notification_interval
    // or escalation_period takes the object's, when the object has one set; otherwise
    // the interval is 0 and there is no period (always).
    let implied_interval = if have.notification_interval {
        obj.notification_interval
    } else {
        0.0
    };
    let interval = match r.get(Key::NotificationInterval).cloned() {
        Some(p) if p.value != "null" => ctx.f64_of(&p, what).unwrap_or(implied_interval),
        _ => implied_interval,
    };
    let options = r
        .get(Key::EscalationOptions)
        .cloned()
        .and_then(|p| ctx.opts_of(&p, what, letters))
        .unwrap_or_default();
    // xodtemplate_inherit_object_properties(): without contacts and contact_groups of
    // its own an escalation takes the object's; a `+` list is the object's list followed
    // by its own, per directive. The lists are then walked like the object's.
    let mut own_contacts = Vec::new();
    let mut own_groups = Vec::new();
    let has_c = r.val(Key::Contacts).is_some() || r.val(Key::ContactGroups).is_some();
    if has_c {
        if head.additive_contacts {
            own_contacts.extend(obj.contacts.iter().copied());
        }
        if head.additive_groups {
            own_groups.extend(obj.contact_groups.iter().copied());
        }
        if let Some(p) = r.get(Key::Contacts).cloned() {
            for n in list(p.value.trim_start_matches('+')) {
                match cfg.contact_index.get(n) {
                    Some(&c) => own_contacts.push(c),
                    None => {
                        let l = ctx.p_loc(&p);
                        ctx.diags.error(
                            Kind::Undefined,
                            l,
                            Some(what.to_owned()),
                            format!("contact '{n}' is not defined"),
                        );
                    }
                }
            }
        }
        if let Some(p) = r.get(Key::ContactGroups).cloned() {
            for n in list(p.value.trim_start_matches('+')) {
                match cfg.contactgroup_index.get(n) {
                    Some(&g) => own_groups.push(g),
                    None => {
                        let l = ctx.p_loc(&p);
                        ctx.diags.error(
                            Kind::Undefined,
                            l,
                            Some(what.to_owned()),
                            format!("contactgroup '{n}' is not defined"),
                        );
                    }
                }
            }
        }
    } else {
        own_contacts.extend(obj.contacts.iter().copied());
        own_groups.extend(obj.contact_groups.iter().copied());
    }
    let contacts = nagios_contact_order(cfg, &own_contacts, &own_groups);
    Escalation {
        first_notification: first,
        last_notification: last,
        notification_interval: interval,
        period: match r.get(Key::EscalationPeriod) {
            Some(p) if p.value != "null" => tp_ref(ctx, cfg, r, Key::EscalationPeriod, what),
            _ if have.notification_period => obj.notification_period,
            _ => None,
        },
        options,
        contacts,
        location: loc.clone(),
    }
}

fn esc_head(ctx: &Ctx<'_>, d: usize, what: &str, loc: &Location, letters: &'static str) -> EscHead {
    // The resolver strips a '+' that found no template value; the definition's own
    // directives still have it.
    let additive = |key: Key| {
        ctx.defs[d]
            .props
            .iter()
            .any(|p| p.key == key && p.value.starts_with('+'))
    };
    EscHead {
        what: what.to_owned(),
        loc: loc.clone(),
        letters,
        additive_contacts: additive(Key::Contacts),
        additive_groups: additive(Key::ContactGroups),
    }
}

fn build_escalations(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = registered(ctx, ObjectKind::ServiceEscalation);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d).unwrap_or_else(dummy_loc);
        let what = ctx.describe(d);
        let res = (|| -> Result<Vec<ServiceId>, String> {
            let mut out = Vec::new();
            if r.val(Key::HostName).is_some() || r.val(Key::HostgroupName).is_some() {
                let (a, b) =
                    expand_hosts(ctx, cfg, r.val(Key::HostName), r.val(Key::HostgroupName))?;
                let hosts: Vec<HostId> = a.into_iter().chain(b).collect();
                let desc = r
                    .val(Key::ServiceDescription)
                    .ok_or("missing 'service_description'")?;
                out.extend(match_services(ctx, cfg, &hosts, desc)?);
            }
            if let Some(sg) = r.val(Key::ServicegroupName) {
                out.extend(servicegroup_services(cfg, sg)?);
            }
            dedup_keep_order(&mut out);
            if out.is_empty() {
                return Err("escalation matches no service".to_owned());
            }
            Ok(out)
        })();
        let head = esc_head(ctx, d, &what, &loc, "wucr");
        match res {
            Ok(svcs) => {
                for s in svcs {
                    let common = cfg.services[s.index()].common.clone();
                    let have = ctx.service_have.get(s.index()).copied().unwrap_or_default();
                    let e = build_escalation(ctx, cfg, &r, &head, &common, have);
                    cfg.serviceescalations.push(ServiceEscalation {
                        service: s,
                        escalation: e,
                    });
                }
            }
            Err(e) => ctx.diags.error(Kind::Undefined, Some(loc), Some(what), e),
        }
    }
    let objs = registered(ctx, ObjectKind::HostEscalation);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d).unwrap_or_else(dummy_loc);
        let what = ctx.describe(d);
        let head = esc_head(ctx, d, &what, &loc, "dur");
        match expand_hosts(ctx, cfg, r.val(Key::HostName), r.val(Key::HostgroupName)) {
            Ok((a, b)) if !a.is_empty() || !b.is_empty() => {
                for h in a.into_iter().chain(b) {
                    let common = cfg.hosts[h.index()].common.clone();
                    let have = ctx.host_have.get(h.index()).copied().unwrap_or_default();
                    let e = build_escalation(ctx, cfg, &r, &head, &common, have);
                    cfg.hostescalations.push(HostEscalation {
                        host: h,
                        escalation: e,
                    });
                }
            }
            Ok(_) => ctx.diags.error(
                Kind::Undefined,
                Some(loc),
                Some(what),
                "escalation matches no host",
            ),
            Err(e) => ctx.diags.error(Kind::Undefined, Some(loc), Some(what), e),
        }
    }
}

fn build_extinfo(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    for kind in [ObjectKind::HostExtInfo, ObjectKind::ServiceExtInfo] {
        let objs = registered(ctx, kind);
        for d in objs {
            let Some(r) = resolved(ctx, d) else {
                continue;
            };
            let loc = ctx.def_loc(d);
            let what = ctx.describe(d);
            ctx.diags.warning(
                Kind::Deprecated,
                loc.clone(),
                Some(what.clone()),
                "extinfo definitions are deprecated; merged into the objects",
            );
            let hosts =
                match expand_hosts(ctx, cfg, r.val(Key::HostName), r.val(Key::HostgroupName)) {
                    Ok((a, b)) => a.into_iter().chain(b).collect::<Vec<_>>(),
                    Err(e) => {
                        ctx.diags.error(Kind::Undefined, loc, Some(what), e);
                        continue;
                    }
                };
            let apply = |c: &mut Checkable| {
                if let Some(v) = r.val(Key::Notes) {
                    c.notes.get_or_insert_with(|| v.into());
                }
                if let Some(v) = r.val(Key::NotesUrl) {
                    c.notes_url.get_or_insert_with(|| v.into());
                }
                if let Some(v) = r.val(Key::ActionUrl) {
                    c.action_url.get_or_insert_with(|| v.into());
                }
                if let Some(v) = r.val(Key::IconImage) {
                    c.icon_image.get_or_insert_with(|| v.into());
                }
                if let Some(v) = r.val(Key::IconImageAlt) {
                    c.icon_image_alt.get_or_insert_with(|| v.into());
                }
            };
            if kind == ObjectKind::HostExtInfo {
                for h in hosts {
                    apply(&mut cfg.hosts[h.index()].common);
                }
            } else {
                let desc = r.val(Key::ServiceDescription).unwrap_or("");
                match match_services(ctx, cfg, &hosts, desc) {
                    Ok(svcs) => {
                        for s in svcs {
                            apply(Arc::make_mut(&mut cfg.services[s.index()].common));
                        }
                    }
                    Err(e) => ctx.diags.error(Kind::Undefined, loc, Some(what), e),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Pre-flight checks (base/config.c:pre_flight_object_check, pre_flight_circular_check)

fn preflight(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    if cfg.services.is_empty() {
        if ctx.dialect == Dialect::Shinken {
            ctx.diags
                .warning(Kind::Check, None, None, "there are no services defined");
        } else {
            ctx.diags
                .error(Kind::Check, None, None, "there are no services defined");
        }
    }
    if cfg.hosts.is_empty() {
        ctx.diags
            .error(Kind::Check, None, None, "there are no hosts defined");
    }
    if cfg.contacts.is_empty() && ctx.dialect == Dialect::Nagios {
        ctx.diags
            .error(Kind::Check, None, None, "there are no contacts defined");
    }
    for s in &cfg.services {
        let host = &cfg.hosts[s.host.index()];
        let what = || format!("service '{}' on host '{}'", s.description, host.name);
        if s.common.max_check_attempts == 0 {
            ctx.diags.error(
                Kind::Missing,
                Some(s.location.clone()),
                Some(what()),
                "max_check_attempts must be set and greater than 0",
            );
        }
        if s.common.notification_contacts.is_empty() {
            ctx.diags.warning(
                Kind::Check,
                Some(s.location.clone()),
                Some(what()),
                "no contacts or contact groups defined",
            );
        }
        if s.common.check_period.is_none() {
            ctx.diags.warning(
                Kind::Check,
                Some(s.location.clone()),
                Some(what()),
                "no check_period defined",
            );
        }
        if s.common.notification_period.is_none() {
            ctx.diags.warning(
                Kind::Check,
                Some(s.location.clone()),
                Some(what()),
                "no notification_period defined",
            );
        }
    }
    for h in &cfg.hosts {
        let what = || format!("host '{}'", h.name);
        if h.common.max_check_attempts == 0 {
            ctx.diags.error(
                Kind::Missing,
                Some(h.location.clone()),
                Some(what()),
                "max_check_attempts must be set and greater than 0",
            );
        }
        if h.services.is_empty() {
            ctx.diags.warning(
                Kind::Check,
                Some(h.location.clone()),
                Some(what()),
                "host has no services associated with it",
            );
        }
        if h.common.notification_contacts.is_empty() {
            ctx.diags.warning(
                Kind::Check,
                Some(h.location.clone()),
                Some(what()),
                "no contacts or contact groups defined",
            );
        }
    }
    for c in &cfg.contacts {
        let what = || format!("contact '{}'", c.name);
        let has_svc = c
            .ways
            .iter()
            .any(|w| !w.service_notification_commands.is_empty());
        let has_host = c
            .ways
            .iter()
            .any(|w| !w.host_notification_commands.is_empty());
        if !has_svc {
            ctx.diags.error(
                Kind::Missing,
                Some(c.location.clone()),
                Some(what()),
                "no service notification commands defined",
            );
        }
        if !has_host {
            ctx.diags.error(
                Kind::Missing,
                Some(c.location.clone()),
                Some(what()),
                "no host notification commands defined",
            );
        }
        if c.ways
            .iter()
            .any(|w| w.service_notification_period.is_none())
        {
            ctx.diags.warning(
                Kind::Check,
                Some(c.location.clone()),
                Some(what()),
                "no service notification time period defined",
            );
        }
        if c.ways.iter().any(|w| w.host_notification_period.is_none()) {
            ctx.diags.warning(
                Kind::Check,
                Some(c.location.clone()),
                Some(what()),
                "no host notification time period defined",
            );
        }
    }
    for (key, v) in [
        (
            "global_host_event_handler",
            ctx.main.global_host_event_handler.clone(),
        ),
        (
            "global_service_event_handler",
            ctx.main.global_service_event_handler.clone(),
        ),
    ] {
        if let Some(v) = v {
            let (name, _) = split_command_call(&v);
            if !name.is_empty() && !cfg.command_index.contains_key(name) {
                ctx.diags.error(
                    Kind::Undefined,
                    None,
                    None,
                    format!("{key} command '{name}' is not defined"),
                );
            }
        }
    }
    // Circular host parents.
    for id in find_cycles(cfg.hosts.len(), |i| {
        cfg.hosts[i].parents.iter().map(|p| p.index()).collect()
    }) {
        let h = &cfg.hosts[id];
        ctx.diags.error(
            Kind::Circular,
            Some(h.location.clone()),
            Some(format!("host '{}'", h.name)),
            "host is part of a circular parent/child chain",
        );
    }
    // Circular timeperiod exclusions.
    for id in find_cycles(cfg.timeperiods.len(), |i| {
        cfg.timeperiods[i]
            .exclude
            .iter()
            .map(|p| p.index())
            .collect()
    }) {
        let t = &cfg.timeperiods[id];
        ctx.diags.error(
            Kind::Circular,
            Some(t.location.clone()),
            Some(format!("timeperiod '{}'", t.name)),
            "timeperiod is part of a circular exclusion chain",
        );
    }
    // Circular dependencies: pre_flight_circular_check looks at the execution and the
    // notification graphs separately (a dependency is in the graph of each non-empty
    // criteria set).
    for (kind, pick) in [("execution", true), ("notification", false)] {
        let mut sdeps: Vec<Vec<usize>> = vec![Vec::new(); cfg.services.len()];
        for d in &cfg.servicedependencies {
            let crit = if pick {
                d.execution_failure
            } else {
                d.notification_failure
            };
            if !crit.is_empty() {
                sdeps[d.dependent.index()].push(d.master.index());
            }
        }
        for id in find_cycles(cfg.services.len(), |i| sdeps[i].clone()) {
            let s = &cfg.services[id];
            ctx.diags.error(
                Kind::Circular,
                Some(s.location.clone()),
                Some(format!(
                    "service '{}' on host '{}'",
                    s.description,
                    cfg.hosts[s.host.index()].name
                )),
                format!("service is part of a circular {kind} dependency chain"),
            );
        }
        let mut hdeps: Vec<Vec<usize>> = vec![Vec::new(); cfg.hosts.len()];
        for d in &cfg.hostdependencies {
            let crit = if pick {
                d.execution_failure
            } else {
                d.notification_failure
            };
            if !crit.is_empty() {
                hdeps[d.dependent.index()].push(d.master.index());
            }
        }
        for id in find_cycles(cfg.hosts.len(), |i| hdeps[i].clone()) {
            let h = &cfg.hosts[id];
            ctx.diags.error(
                Kind::Circular,
                Some(h.location.clone()),
                Some(format!("host '{}'", h.name)),
                format!("host is part of a circular {kind} dependency chain"),
            );
        }
    }
}

/// Nodes that lie on a cycle (reported once per cycle: the first node found on it).
fn find_cycles(n: usize, edges: impl Fn(usize) -> Vec<usize>) -> Vec<usize> {
    // Iterative three-colour DFS.
    let mut color = vec![0u8; n];
    let mut out = Vec::new();
    for start in 0..n {
        if color[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(start, edges(start), 0)];
        color[start] = 1;
        while let Some((node, succ, i)) = stack.last_mut() {
            if *i < succ.len() {
                let next = succ[*i];
                *i += 1;
                if next >= n {
                    continue;
                }
                match color[next] {
                    0 => {
                        color[next] = 1;
                        let e = edges(next);
                        stack.push((next, e, 0));
                    }
                    1 => out.push(next),
                    _ => {}
                }
            } else {
                color[*node] = 2;
                stack.pop();
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Directives Nagios 4.4.6 still takes under an old name, with a warning
/// (`WARNING: The normal_check_interval attribute is deprecated ...`):
/// `(new name, old name)`.
fn deprecated_alias(kind: ObjectKind, key: &str) -> Option<(&'static str, &'static str)> {
    use ObjectKind as K;
    match (kind, key) {
        (K::Host | K::Service, "normal_check_interval") => {
            Some(("check_interval", "normal_check_interval"))
        }
        (K::Host | K::Service, "retry_check_interval") => {
            Some(("retry_interval", "retry_check_interval"))
        }
        (K::Host | K::Service, "hourly_value") => Some(("importance", "hourly_value")),
        (K::Contact, "minimum_value") => Some(("minimum_importance", "minimum_value")),
        _ => None,
    }
}
