//! Collecting the definitions and resolving templates: `use` with several parents in Nagios order, `register 0`, additive `+` values, `null`.

use super::*;

impl<'r> Ctx<'r> {
    pub(super) fn loc(&self, file: u32, line: u32) -> Option<Location> {
        self.paths
            .get(file as usize)
            .map(|p| Location::new(p, line))
    }
    pub(super) fn def_loc(&self, d: usize) -> Option<Location> {
        let def = &self.defs[d];
        self.loc(def.file, def.line)
    }
    pub(super) fn p_loc(&self, p: &P<'_>) -> Option<Location> {
        self.loc(p.file, p.line)
    }

    /// Describe a definition for messages, e.g. `service template 'generic-service'`.
    pub(super) fn describe(&self, d: usize) -> String {
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

    pub(super) fn collect(&mut self, files: &'r [ParsedFile<'r>]) {
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

    pub(super) fn additive(&self, k: Key) -> bool {
        self.dialect == Dialect::Shinken || k.is_additive_list()
    }

    pub(super) fn resolve_template(
        &mut self,
        idx: usize,
        child: usize,
    ) -> Option<Rc<Resolved<'r>>> {
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

    pub(super) fn resolve_def(&mut self, idx: usize) -> Resolved<'r> {
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
    pub(super) fn merge_templates(
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
}
