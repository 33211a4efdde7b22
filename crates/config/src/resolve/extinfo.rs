//! `hostextinfo` / `serviceextinfo` definitions.

use super::*;

pub(super) fn build_extinfo(ctx: &mut Ctx<'_>, cfg: &mut Config) {
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
