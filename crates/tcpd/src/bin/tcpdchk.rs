//! `tcpdchk [-a] [-d] [-i inet_conf] [-v] [--allow FILE] [--deny FILE]`

use picket_tcpwrap::system::SystemResolver;

fn main() {
    let mut args = std::env::args();
    let prog = args.next().unwrap_or_else(|| "tcpdchk".to_string());
    let rest: Vec<String> = args.collect();
    let mut resolver = SystemResolver::default();
    let code = picket_tcpd::chktool::tcpdchk(
        &prog,
        &rest,
        &mut resolver,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(code);
}
