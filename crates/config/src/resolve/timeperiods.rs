//! `define timeperiod` (ranges, exceptions, `exclude`) and time period references.

use super::*;

/// The warning for a time range that ends before it starts (accepted by Nagios 4.4.6,
/// never valid there: ranges do not cross midnight).
pub(super) fn reversed_range_message(line: &PeriodLine, r: &timeperiod::TimeRange) -> String {
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

pub(super) fn build_timeperiods(ctx: &mut Ctx<'_>, cfg: &mut Config) {
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

pub(super) fn tp_ref(
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
