#!/usr/bin/perl
# Debian's Monitoring::Livestatus (libmonitoring-livestatus-perl, the client Thruk
# bundles) against Picket: prints one line per check, "name=value", for the Rust test
# to compare. Usage: client.pl SOCKET_PATH HOST:PORT
use strict;
use warnings;
use Monitoring::Livestatus;

my ($socket, $server) = @ARGV;
for my $peer (['unix', socket => $socket], ['tcp', server => $server]) {
    my ($label, @opt) = @$peer;
    for my $keepalive (0, 1) {
        my $ml = Monitoring::Livestatus->new(@opt, keepalive => $keepalive, errors_are_fatal => 0, timeout => 10);
        my $tag = "$label$keepalive";
        my $hosts = $ml->selectall_arrayref("GET hosts\nColumns: name state address", { Slice => {} });
        die "$tag hosts: $Monitoring::Livestatus::ErrorMessage" unless $hosts;
        print "$tag.hosts=", join(',', map { "$_->{name}:$_->{state}:$_->{address}" } sort { $a->{name} cmp $b->{name} } @$hosts), "\n";
        my $svcs = $ml->selectall_arrayref("GET services\nColumns: host_name description state plugin_output\nFilter: state != 0");
        die "$tag services: $Monitoring::Livestatus::ErrorMessage" unless $svcs;
        print "$tag.problems=", join(',', map { join(':', @$_) } @$svcs), "\n";
        my $stats = $ml->selectrow_hashref("GET services\nStats: state = 0 as ok\nStats: state = 2 as critical\nStats: state_type = 1\nStats: state = 2\nStatsAnd: 2 as hard_critical");
        die "$tag stats: $Monitoring::Livestatus::ErrorMessage" unless $stats;
        print "$tag.stats=", join(',', map { "$_:$stats->{$_}" } sort keys %$stats), "\n";
        my $count = $ml->selectscalar_value("GET hosts\nStats: name !=");
        print "$tag.count=$count\n";
        my $version = $ml->selectscalar_value("GET status\nColumns: livestatus_version");
        print "$tag.version=$version\n";
        my $bad = $ml->selectall_arrayref("GET nosuchtable\nColumns: name");
        print "$tag.error=$Monitoring::Livestatus::ErrorCode\n";
    }
}
my $ml = Monitoring::Livestatus->new(socket => $socket);
$ml->do("COMMAND [" . time() . "] PROCESS_SERVICE_CHECK_RESULT;db1;PING;1;from perl");
print "command=done\n";
