//! Stage 2: templates, inheritance, expansion, typed model and pre-flight checks.
//!
//! [`resolve`] builds the [`Config`] in Nagios' order, one module per step:
//! `templates` (collecting definitions, `use` inheritance), `values` (typed conversion
//! of directive values), `commands`, `timeperiods`, `contacts`, `groups` (one
//! builder for host, service and contact groups), `checkable` (what hosts and services
//! share), `hosts`, `services`, `dependencies` (and escalations), `extinfo` and
//! `preflight`. The shared state is `Ctx` here; every step reads the resolved
//! definitions through it and reports to its diagnostics with file:line.

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

mod checkable;
mod commands;
mod contacts;
mod dependencies;
mod extinfo;
mod groups;
mod hosts;
mod preflight;
mod services;
mod templates;
mod timeperiods;
mod values;

use checkable::*;
use commands::*;
use contacts::*;
use dependencies::*;
use extinfo::*;
use groups::*;
use hosts::*;
use preflight::*;
use services::*;
use timeperiods::*;
use values::*;

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
    build_groups::<ContactGroups>(&mut ctx, &mut cfg);
    let host_parents = build_hosts(&mut ctx, &mut cfg);
    build_groups::<HostGroups>(&mut ctx, &mut cfg);
    link_host_parents(&mut ctx, &mut cfg, host_parents);
    build_services(&mut ctx, &mut cfg);
    build_groups::<ServiceGroups>(&mut ctx, &mut cfg);
    build_dependencies(&mut ctx, &mut cfg);
    build_escalations(&mut ctx, &mut cfg);
    build_extinfo(&mut ctx, &mut cfg);
    drop_unregistered_groups(&mut ctx, &mut cfg);
    preflight(&mut ctx, &mut cfg);
    cfg.main = std::mem::take(&mut ctx.main);
    (cfg, ctx.diags)
}

/// A placeholder location where a definition has none.
fn dummy_loc() -> Location {
    Location {
        file: Arc::from(Path::new("")),
        line: 0,
    }
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
