//! `define command` and command references (`check_command`, `*_notification_commands`, `event_handler`).

use super::*;

pub(super) fn build_commands(ctx: &mut Ctx<'_>, cfg: &mut Config) {
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

pub(super) fn cmd_call(
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

pub(super) fn cmd_ref(
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
pub(super) fn cmd_list(
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
