// The remediation table. Edit the texts here, then regenerate the docs:
//   build/smtp_exporter check --remediation-markdown > docs/troubleshooting.md
// (a unit test fails while the two differ).
#include "views/remediation.h"

#include <algorithm>
#include <chrono>
#include <optional>

namespace smtp_exporter::exporter {
namespace {

// The openssl command that reproduces a TLS session the way the probe made it.
#define SMTP_S_CLIENT "openssl s_client {starttls}-connect {host}:{port} -servername {name} </dev/null"

const std::vector<Remediation> kTable{
    // ---- DNS -------------------------------------------------------------------------
    {"dns/nxdomain",
     "The name does not exist (NXDOMAIN)",
     {"A typo in the target, or in the MX record that points to this host.",
      "The domain is not registered, has expired, or is not delegated to its name servers.",
      "The record was just created and resolvers still cache the negative answer (up to the zone's SOA minimum TTL).",
      "Split-horizon DNS: the name exists only in an internal view that this resolver does not see."},
     {"Check the name: `dig +short A {host}` and `dig +short AAAA {host}`.",
      "For a mail domain, list its MX hosts: `dig MX {domain}`.",
      "Follow the delegation from the root: `dig +trace {domain}`; check the registration: `whois {domain}`.",
      "See which resolver this host uses: `resolvectl status` (or `cat /etc/resolv.conf`); after fixing the zone, "
      "`resolvectl flush-caches`.",
      "Create the missing record in the zone, or correct the target (or the `[dns] servers` of the configuration)."},
     {"Containers use their own resolver: `docker exec CONTAINER cat /etc/resolv.conf` and "
      "`docker exec CONTAINER getent hosts {host}`.",
      "When smtp_exporter itself runs in a container, it uses that container's resolver: "
      "`docker exec smtp_exporter cat /etc/resolv.conf`, and resolve from its network namespace: "
      "`docker run --rm --network container:smtp_exporter busybox:1.36 nslookup {host}`.",
      "Compose service names resolve only between containers of the same network: `docker network inspect NETWORK`.",
      "Set the resolvers with `dns:` in compose.yaml, or `\"dns\"` in /etc/docker/daemon.json."},
     {"Resolve from inside the cluster: "
      "`kubectl run -it --rm dns-debug --image=busybox:1.36 --restart=Never -- nslookup {host}`.",
      "Names of cluster services need their namespace: `SERVICE.NAMESPACE.svc.cluster.local`.",
      "Check CoreDNS and its forwarders: `kubectl -n kube-system logs -l k8s-app=kube-dns` and "
      "`kubectl -n kube-system get configmap coredns -o yaml`."}},
    {"dns/nodata",
     "The name has no address (no A/AAAA record)",
     {"The name exists but has only other records: a mail domain probed as a host instead of through its MX records.",
      "The name has only IPv6 (or only IPv4) addresses and the module sets `ip_protocol_fallback = false`.",
      "A CNAME that points to a name without an address.",
      "For a mail domain: none of its MX hosts has an address."},
     {"List the addresses: `dig +short A {host}` and `dig +short AAAA {host}`.",
      "A mail domain is probed through its MX records: `dig MX {domain}`, then "
      "`smtp_exporter check mx:{domain} --module {module}`.",
      "Allow the other address family: `ip_protocol_fallback = true` (or the right `ip_protocol`) in the module.",
      "Add the missing A/AAAA record to the zone."},
     {"Containers have no IPv6 by default: set `ip_protocol = \"ip4\"` in the module.",
      "Check what the container sees: `docker exec CONTAINER getent ahosts {host}`."},
     {"A headless Service has addresses only for ready pods: `kubectl get endpoints SERVICE` and "
      "`kubectl get pods -l app=postfix`.",
      "Single-stack IPv4 clusters: set `ip_protocol = \"ip4\"` in the module."}},
    {"dns/servfail",
     "The DNS server could not resolve the name (SERVFAIL)",
     {"Broken delegation: the name servers listed for the domain do not answer for it (lame delegation).",
      "The domain's authoritative servers are unreachable or down.",
      "DNSSEC validation fails: expired signatures, or a DS record that no longer matches the zone's keys.",
      "The resolver itself is overloaded or misconfigured."},
     {"Compare `dig {host}` with `dig +cd {host}`: when only the second works, DNSSEC validation fails "
      "(details: `delv {host}`).",
      "Follow the delegation: `dig +trace {host}`, `dig NS {domain}`, then `dig @NAMESERVER {domain} SOA` for each "
      "name server.",
      "Ask another resolver: `dig @1.1.1.1 {host}`. When that works, look at the local one: "
      "`journalctl -u systemd-resolved` (or `-u unbound`, `-u named`).",
      "Point the exporter at a working resolver with `[dns] servers` in the configuration."},
     {"Docker's embedded DNS (127.0.0.11) forwards to the host's resolvers: test with "
      "`docker run --rm busybox:1.36 nslookup {host}` and `docker run --rm --dns 1.1.1.1 busybox:1.36 nslookup {host}`."},
     {"Look at CoreDNS: `kubectl -n kube-system get pods -l k8s-app=kube-dns` and "
      "`kubectl -n kube-system logs -l k8s-app=kube-dns`.",
      "Check the `forward` plugin in `kubectl -n kube-system get configmap coredns -o yaml`."}},
    {"dns/refused",
     "The DNS server refused the query, or could not be contacted",
     {"The resolver does not serve this client (recursion limited by an ACL).",
      "No DNS server is reachable: /etc/resolv.conf names a dead address, or a firewall blocks port 53 (UDP and TCP).",
      "`[dns] servers` or `dns_servers` in the configuration names a wrong server."},
     {"See which servers are used: `resolvectl status` (or `cat /etc/resolv.conf`), and the `[dns]` section of the "
      "configuration.",
      "Ask each server directly: `dig @SERVER {host}`.",
      "Check the local resolver: `systemctl status systemd-resolved` (or `unbound`, `named`).",
      "Check the firewall for port 53: `nft list ruleset` (or `iptables -L -n`)."},
     {"`docker exec CONTAINER cat /etc/resolv.conf`; set resolvers with `dns:` in compose.yaml or `\"dns\"` in "
      "/etc/docker/daemon.json."},
     {"A NetworkPolicy must allow egress to kube-dns on UDP and TCP 53: `kubectl get networkpolicy -A`.",
      "Check the DNS Service and the pod's `dnsPolicy`: `kubectl -n kube-system get svc kube-dns`."}},
    {"dns/timeout",
     "No DNS answer in time",
     {"The DNS server is down or unreachable, and its packets are dropped.",
      "A firewall drops DNS traffic (UDP or TCP port 53).",
      "Slow upstream or authoritative servers.",
      "The probe's deadline is too short for the lookup (module `timeout`, `[dns] timeout` and `tries`)."},
     {"Time one query: `dig +tries=1 +time=2 {host}`, and ask each server: `dig @SERVER {host}`.",
      "Check the firewall for port 53: `nft list ruleset` (or `iptables -L -n`).",
      "Look at the local resolver: `journalctl -u systemd-resolved` (or `-u unbound`).",
      "If the resolver is just slow, raise `[dns] timeout` or the module's `timeout` "
      "(try: `smtp_exporter check {target} --module {module} --timeout 30s`)."},
     {"Test from a container: `docker run --rm busybox:1.36 nslookup {host}`; compare with `--dns 1.1.1.1`."},
     {"Test from a pod: `kubectl run -it --rm dns-debug --image=busybox:1.36 --restart=Never -- nslookup {host}`.",
      "Look for CoreDNS restarts or throttling: `kubectl -n kube-system get pods -l k8s-app=kube-dns`."}},
    {"dns/dns_error",
     "The resolver failed",
     {"A malformed DNS answer, or an answer the resolver could not use.",
      "A `[dns] servers` entry that the resolver library rejects."},
     {"Reproduce the lookup: `dig {host}` and `dig MX {domain}`.",
      "See the resolver's message on the debug page: "
      "`curl 'http://localhost:9587/probe?target={target}&module={module}&debug=true'`.",
      "Check the `[dns]` section of the configuration: `smtp_exporter --config.file=FILE --config.check`."},
     {"`docker exec CONTAINER cat /etc/resolv.conf`."},
     {"`kubectl -n kube-system logs -l k8s-app=kube-dns`."}},
    {"dns/null_mx",
     "The domain accepts no mail (null MX)",
     {"The domain publishes `MX 0 .` (RFC 7505): it declares that it receives no mail.",
      "A null MX left over from when the domain was parked.",
      "The wrong domain is probed."},
     {"See the MX records: `dig MX {domain}`.",
      "If the domain should receive mail, replace the null MX with real MX records at the DNS provider.",
      "If the null MX is intended, stop probing this domain as a mail domain."},
     {},
     {}},
    {"dns/no_mx",
     "The domain has no MX records (implicit MX)",
     {"The MX records were never created, or were deleted.",
      "Mail goes to the domain's own A/AAAA address (RFC 5321 section 5.1): it works with most senders, but it is "
      "fragile and easy to break by moving the web site."},
     {"See what the domain publishes: `dig MX {domain}` and `dig +short A {domain}`.",
      "Publish an MX record, e.g. `{domain}. 3600 IN MX 10 mail.{domain}.`, and check it after the TTL: "
      "`dig MX {domain}`."},
     {},
     {}},

    // ---- Connection --------------------------------------------------------------------
    {"connect/refused",
     "Connection refused",
     {"The SMTP server is not running: stopped, crashed, or failed to start after a configuration change.",
      "It listens on another port or address only (e.g. `inet_interfaces = loopback-only`, or a service missing "
      "from master.cf).",
      "A firewall rejects the connection (REJECT with a TCP reset).",
      "The target or the module's port is wrong (25 for MX, 587 for submission, 465 for implicit TLS)."},
     {"Test the port from here: `nc -vz {host} {port}`.",
      "On the server, see what listens: `ss -ltnp | grep ':{port}'`.",
      "Check the service: `systemctl status postfix` (on Debian the daemon runs as `postfix@-`: "
      "`systemctl status postfix@-`), and its log: `journalctl -u postfix@- -n 50` (or /var/log/mail.log).",
      "Check the configuration: `postfix check`, `postconf inet_interfaces inet_protocols`, and the services: "
      "`postconf -M smtp/inet submission/inet smtps/inet`.",
      "Start it: `systemctl restart postfix`.",
      "Check the firewall: `nft list ruleset` (or `iptables -L -n`, `ufw status`)."},
     {"When smtp_exporter itself runs in a container, test from its network namespace: `docker run --rm "
      "--network container:smtp_exporter busybox:1.36 nc -vz -w 5 {host} {port}`; `localhost` there is the "
      "exporter's container, not the Docker host (use the host's address or `host.docker.internal`).",
      "Is the container running? `docker compose ps` and `docker compose logs --tail=100 postfix`.",
      "Is the port published? `docker compose port postfix {port}` (compose.yaml: `ports: [\"{port}:{port}\"]`).",
      "Inside the container the server must listen on 0.0.0.0, not 127.0.0.1."},
     {"Are the pods running and ready? `kubectl get pods -l app=postfix -o wide`.",
      "Does the Service have endpoints? `kubectl get svc,endpoints` (none: the selector does not match, or no pod "
      "is ready); check `targetPort` in `kubectl describe svc SERVICE`.",
      "Test from inside the cluster: "
      "`kubectl run -it --rm smtp-debug --image=busybox:1.36 --restart=Never -- nc -vz {host} {port}`."}},
    {"connect/timeout",
     "No answer to the connection attempt (timeout)",
     {"A firewall or a security group drops the packets (DROP instead of REJECT).",
      "The provider blocks outgoing port 25 (common on cloud and residential networks).",
      "The host is down, or the name points to a wrong or old address.",
      "The server is overloaded and its listen queue is full.",
      "The deadline is too short for the network path."},
     {"Test the port with a deadline: `nc -vz -w 5 {host} {port}`.",
      "Check the address: `dig +short A {host}` (is {address} the right one?).",
      "Find where the packets stop: `traceroute -T -p {port} {host}` (or `mtr -T -P {port} {host}`).",
      "Check the firewalls on both ends: `nft list ruleset` (or `iptables -L -n`), and the cloud security groups.",
      "If outgoing port 25 is blocked, ask the provider to open it, or probe port 587.",
      "If the path is just slow: `smtp_exporter check {target} --module {module} --timeout 30s`."},
     {"When smtp_exporter itself runs in a container, test from its network namespace: `docker run --rm "
      "--network container:smtp_exporter busybox:1.36 nc -vz -w 5 {host} {port}`; `localhost` there is the "
      "exporter's container, not the Docker host (use the host's address or `host.docker.internal`).",
      "Docker's own iptables rules come first: `iptables -L DOCKER-USER -n`.",
      "Check that the container is on the right network: `docker network inspect NETWORK`."},
     {"NetworkPolicies may drop the traffic: `kubectl get networkpolicy -A`.",
      "Check the LoadBalancer and the cloud firewall rules of the nodes.",
      "Test from a pod: `kubectl run -it --rm smtp-debug --image=busybox:1.36 --restart=Never -- nc -vz -w 5 {host} "
      "{port}`."}},
    {"connect/unreachable",
     "Network or host unreachable",
     {"No route to the address: for example an IPv6 address on a host without IPv6 connectivity.",
      "A router or firewall answers with ICMP unreachable."},
     {"See the route: `ip route get {address}`.",
      "Without IPv6 connectivity, set `ip_protocol = \"ip4\"` in the module.",
      "Find where it stops: `traceroute {host}`."},
     {"Containers have no IPv6 by default: set `ip_protocol = \"ip4\"`, or enable IPv6 in /etc/docker/daemon.json."},
     {"Single-stack IPv4 clusters: set `ip_protocol = \"ip4\"` in the module."}},
    {"connect/no_reachable_mx",
     "No MX host accepted a connection",
     {"Every MX host is down or firewalled.",
      "The MX records point to old or wrong hosts.",
      "Outgoing port 25 is blocked on the probing network."},
     {"List the MX hosts: `dig MX {domain}`, then test each one: `nc -vz -w 5 MXHOST {port}`.",
      "The per-host results above give each address' own failure.",
      "If outgoing port 25 is blocked, ask the provider to open it."},
     {"Test from a container: `docker run --rm busybox:1.36 nc -vz -w 5 MXHOST {port}`."},
     {"Test from a pod: `kubectl run -it --rm smtp-debug --image=busybox:1.36 --restart=Never -- nc -vz -w 5 MXHOST "
      "{port}`; check egress NetworkPolicies: `kubectl get networkpolicy -A`."}},
    {"connection/error",
     "Connection error",
     {"A socket error other than refused, unreachable or timeout."},
     {"See the system's message on the debug page: "
      "`curl 'http://localhost:9587/probe?target={target}&module={module}&debug=true'`.",
      "Test the port: `nc -vz {host} {port}`."},
     {},
     {}},

    // ---- The SMTP conversation ---------------------------------------------------------
    {"banner/timeout",
     "No greeting in time",
     {"An implicit-TLS port (465) probed without `tls = \"implicit\"`: the server waits for a TLS handshake.",
      "A deliberate greeting delay: postscreen's greet pause, or tarpitting of this client.",
      "The server is overloaded: all its smtpd processes are busy (process limit reached).",
      "Slow reverse DNS lookups of the client before the greeting."},
     {"Is it implicit TLS? `openssl s_client -connect {host}:{port} </dev/null`: if that shows a certificate, use "
      "a module with `tls = \"implicit\"` (the built-in `smtps`).",
      "Watch the greeting arrive: `nc -v {host} {port}`; time it with "
      "`time swaks --server {host}:{port} --quit-after BANNER` (package swaks).",
      "Check the greeting delays: `postconf postscreen_greet_wait postscreen_greet_action`.",
      "Look for busy servers: `journalctl -u postfix@- | grep -i 'all server ports busy\\|process limit'` and "
      "`postconf default_process_limit`.",
      "If the delay is intended, raise the deadline: `smtp_exporter check {target} --module {module} --timeout 30s`."},
     {"Check the container's load and limits: `docker stats` and `docker compose logs --tail=100 postfix`."},
     {"Check the pods' load and limits: `kubectl top pod -l app=postfix` and "
      "`kubectl describe pod -l app=postfix` (CPU throttling, OOM kills)."}},
    {"banner/unexpected_code",
     "The server greets with a refusal (421, 554, ...)",
     {"421: the service is not available: overloaded, shutting down, or too many connections from this client.",
      "554: this client is refused: its address is on a blocklist or an access list (postscreen, "
      "`smtpd_client_restrictions`), or there is no SMTP service here.",
      "The server is in maintenance mode.",
      "The module's `expect_banner_code` is not what this server should answer."},
     {"Read the greeting yourself: `nc -v {host} {port}`, from this host and from another one.",
      "Find the rejection in the server's log: `journalctl -u postfix@- | grep -E 'reject|postscreen|too many'`.",
      "Check the probing host's address on blocklists, e.g. `dig +short REVERSED-IP.zen.spamhaus.org`.",
      "Check the restrictions: `postconf smtpd_client_restrictions postscreen_dnsbl_sites "
      "postscreen_access_list smtpd_client_connection_count_limit`.",
      "Allow the probing host (e.g. in `postscreen_access_list`), then `postfix reload`."},
     {"`docker compose logs --tail=200 postfix | grep -E 'reject|postscreen'`; after a configuration change: "
      "`docker compose exec postfix postfix reload`."},
     {"`kubectl logs deploy/postfix --tail=200 | grep -E 'reject|postscreen'`.",
      "The client address the server sees may be a node's address (SNAT): keep the source address with "
      "`externalTrafficPolicy: Local` on the Service."}},
    {"banner/protocol_error",
     "Not an SMTP server on that port",
     {"Another service listens on the port (HTTP, SSH, IMAP, ...).",
      "A proxy or load balancer in front of the server answers by itself.",
      "A malformed greeting (over RFC 5321's limits, or with control characters)."},
     {"See what answers: `nc -v {host} {port}`.",
      "On the server, find the process that owns the port: `ss -ltnp | grep ':{port}'`.",
      "Check the target's port and the module's `port`: 25 (MX), 587 (submission), 465 (implicit TLS)."},
     {"Check the port mapping: `docker compose port postfix {port}`, and which container publishes the port: "
      "`docker ps --format '{{.Names}} {{.Ports}}'`."},
     {"Check that the Service's `targetPort` is the mail server's port: `kubectl describe svc SERVICE`."}},
    {"ehlo/unexpected_code",
     "EHLO (and HELO) rejected",
     {"The EHLO name is refused (`smtpd_helo_restrictions`: not a fully qualified name, no DNS record, ...).",
      "A 421 reply: the server is overloaded or shutting down.",
      "This client is refused."},
     {"Give the module an `ehlo_name` that is a fully qualified name with A and PTR records.",
      "Check the restrictions: `postconf smtpd_helo_required smtpd_helo_restrictions`.",
      "Find the rejection in the log: `journalctl -u postfix@- | grep -i helo`."},
     {"`docker compose logs --tail=200 postfix | grep -i helo`."},
     {"`kubectl logs deploy/postfix --tail=200 | grep -i helo`."}},
    {"smtp/open_relay",
     "A recipient the server must refuse was accepted",
     {"An open relay: `mynetworks` or the relay restrictions let this client send to foreign domains "
      "(a catastrophic misconfiguration: spammers find open relays within hours).",
      "The probe's address is trusted on purpose (it is in `mynetworks`, or a relay host allows it): the check "
      "then runs from the wrong place.",
      "The recipient's domain is one the server does accept (a typo in the module's `to`)."},
     {"Check from an outside host with the same module; compare `postconf mynetworks smtpd_relay_restrictions "
      "smtpd_recipient_restrictions`.",
      "The restrictions must end in `reject_unauth_destination` (Postfix), and `mynetworks` must hold only "
      "your own hosts: `postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'`, then `systemctl reload postfix`.",
      "See what was accepted: `journalctl -u postfix@- | grep -i 'RCPT from'`."},
     {"Docker networks are private ranges: a `mynetworks` that includes 172.16.0.0/12 trusts every container "
      "and, through NAT, maybe more. List only the addresses you need."},
     {"Pod and node ranges in `mynetworks` trust every pod in the cluster: narrow it, and check which address "
      "the probe comes from (`kubectl get pod -o wide`)."}},
    {"auth/accepted_without_tls",
     "AUTH is accepted where it must be refused",
     {"Credentials are accepted over an unencrypted connection: `smtpd_tls_auth_only` is off "
      "(Postfix), or `disable_plaintext_auth = no` (Dovecot SASL).",
      "The module probes the wrong port (465 with implicit TLS, or a port meant for internal clients)."},
     {"Postfix: `postconf -e smtpd_tls_auth_only=yes` (or `-o smtpd_tls_auth_only=yes` on the submission "
      "service in master.cf), then `systemctl reload postfix`.",
      "Dovecot: `disable_plaintext_auth = yes` in /etc/dovecot/conf.d/10-auth.conf, then "
      "`systemctl reload dovecot`.",
      "Confirm by hand: `nc {host} {port}`, `EHLO x`: AUTH must not be listed before STARTTLS."},
     {"The same settings in the image's configuration; rebuild or mount the corrected main.cf."},
     {"The same settings in the ConfigMap of the mail server; roll the Deployment after changing it."}},
    {"smtp/unexpected_reply",
     "A reply other than the expected one",
     {"The module's `expect_code` no longer matches what the server answers (a changed policy, an upgrade "
      "that changed reply codes).",
      "A server answering with a code that is neither success nor a 4xx/5xx failure (a broken proxy)."},
     {"See the exchange: `curl 'http://localhost:9587/probe?target={target}&module={module}&debug=true'`.",
      "Compare the reply with the module's `expect_code` and `quit_after` (`/config`)."},
     {"`docker compose logs --tail=200 postfix`."},
     {"`kubectl logs deploy/postfix --tail=200`."}},
    {"smtp/closed",
     "The server closed the connection",
     {"A limit on connections per client (`smtpd_client_connection_count_limit`, anvil).",
      "This client is blocked (postscreen, fail2ban, TCP wrappers, access lists).",
      "The smtpd process crashed (a fatal error in the server's log).",
      "A proxy or load balancer that cuts connections.",
      "During STARTTLS: the server cannot load its certificate or key and drops the session."},
     {"Watch the session: `nc -v {host} {port}`.",
      "Find the reason in the server's log: `journalctl -u postfix@- -n 100` (look for `fatal`, `warning`, "
      "`lost connection`).",
      "Check bans: `fail2ban-client status` (and `fail2ban-client status postfix`).",
      "Check the limits: `postconf smtpd_client_connection_count_limit smtpd_client_connection_rate_limit`."},
     {"`docker compose logs --tail=200 postfix`; check for restarts with `docker compose ps`."},
     {"`kubectl logs deploy/postfix --tail=200`; check restarts and OOM kills: `kubectl get pods -l app=postfix` "
      "and `kubectl describe pod -l app=postfix`."}},
    {"smtp/protocol_error",
     "A malformed SMTP reply, or data sent before the TLS handshake",
     {"Data after the 220 reply to STARTTLS, before the handshake: a STARTTLS injection (CVE-2011-0411), a buggy "
      "server, or a middlebox.",
      "A reply over RFC 5321's limits, or with control characters.",
      "A firewall that inspects SMTP (e.g. an \"ESMTP inspection\" feature) and mangles replies."},
     {"Replay the conversation: `nc -v {host} {port}`, then `EHLO example.com`.",
      "Reproduce the STARTTLS exchange: `" SMTP_S_CLIENT "`.",
      "Update the server software; turn off SMTP inspection on firewalls in the path."},
     {},
     {}},
    {"smtp/timeout",
     "The server stopped answering during the conversation",
     {"The server is overloaded, or deliberately slow for this client (tarpitting).",
      "A middlebox that holds the connection (e.g. one that blocks TLS handshakes).",
      "The deadline is too short."},
     {"Replay the conversation and time each reply: `nc -v {host} {port}`, then `EHLO example.com`.",
      "With TLS: `" SMTP_S_CLIENT "`.",
      "Check the load and the log: `uptime`, `mailq | tail -1`, `journalctl -u postfix@- -n 100`.",
      "Try a longer deadline: `smtp_exporter check {target} --module {module} --timeout 30s`."},
     {"`docker stats` and `docker compose logs --tail=100 postfix`."},
     {"`kubectl top pod -l app=postfix` and `kubectl logs deploy/postfix --tail=100`."}},
    {"smtp/temporary_failure",
     "Temporary failure (4xx)",
     {"Greylisting (e.g. postgrey): the first attempt from an unknown client is deferred.",
      "A rate limit: per client (anvil, `smtpd_client_message_rate_limit`) or a provider's quota.",
      "The server lacks resources: a full disk or queue (452).",
      "A 421: the server is shutting down or overloaded."},
     {"Retry after a few minutes: greylisting lets the same client through later.",
      "Exempt the probing host from greylisting: add it to /etc/postgrey/whitelist_clients, then "
      "`systemctl reload postgrey`.",
      "Check the rate limits: `postconf smtpd_client_message_rate_limit smtpd_client_connection_rate_limit "
      "anvil_rate_time_unit`.",
      "Check disk and queue: `df -h /var/spool/postfix` and `mailq | tail -1`."},
     {"`docker compose logs --tail=200 postfix | grep -E 'greylist|rate limit|insufficient'`."},
     {"`kubectl logs deploy/postfix --tail=200 | grep -E 'greylist|rate limit|insufficient'`; check the queue "
      "volume: `kubectl exec deploy/postfix -- df -h /var/spool/postfix`."}},
    {"auth/auth_error",
     "Authentication failed (535)",
     {"A wrong user name or password.",
      "The account is locked or disabled.",
      "The provider requires an app password (Gmail, Yahoo, Outlook with two-factor authentication).",
      "The mechanism is not allowed here (e.g. PLAIN without TLS).",
      "The SASL back end is down (Dovecot auth, saslauthd)."},
     {"Test the credentials by hand: `swaks --server {host}:{port} --tls --auth-user USER --auth-password PASSWORD "
      "--quit-after AUTH`.",
      "With Gmail and other providers using two-factor authentication, create an app password and use it.",
      "Check the SASL set-up: `postconf smtpd_sasl_auth_enable smtpd_sasl_type smtpd_sasl_path`, and the back end: "
      "`systemctl status dovecot` (or `saslauthd`; `testsaslauthd -u USER -p PASSWORD`).",
      "Find the failure in the log: `journalctl -u postfix@- | grep 'SASL.*authentication failed'`."},
     {"Check that the container gets the credentials (secrets or environment), and "
      "`docker compose logs --tail=200 postfix | grep SASL`."},
     {"Check the Secret the credentials come from: `kubectl get secret SECRET -o jsonpath='{.data.password}' | "
      "base64 -d` (then clear your terminal), and `kubectl logs deploy/postfix --tail=200 | grep SASL`."}},

    {"auth/not_offered",
     "AUTH is not offered, or no common mechanism",
     {"SASL is not enabled on this service (`smtpd_sasl_auth_enable = no`), e.g. port 25 instead of 587.",
      "AUTH is offered only after STARTTLS (`smtpd_tls_auth_only = yes`) and the module does not use TLS.",
      "The server offers only mechanisms the module does not allow (its `mechanisms` list)."},
     {"See what is offered: `openssl s_client -starttls smtp -connect {host}:{port} -crlf -quiet`, then "
      "`EHLO example.com` and read the AUTH line.",
      "Probe the submission port (587) with `tls = \"starttls\"`, or 465 with `tls = \"implicit\"`.",
      "Enable SASL on the service: `postconf -P submission/inet/smtpd_sasl_auth_enable=yes`, then "
      "`postfix reload`."},
     {"Check the mail container's SASL settings and that port 587 is the one published."},
     {"Check the Service targets the submission port: `kubectl describe svc SERVICE`."}},
    {"auth/plaintext_auth_refused",
     "Credentials not sent over an unencrypted connection",
     {"The module authenticates without TLS, and the exporter refuses to send a password in clear text.",
      "STARTTLS was not offered or the module uses `tls = \"none\"`."},
     {"Use `tls = \"starttls\"` (port 587) or `tls = \"implicit\"` (port 465) in the module.",
      "Only on a trusted network, allow it: `allow_plaintext_auth = true` in the module's `auth` table."},
     {"Same in the exporter's configuration file mounted in the container."},
     {"Same in the ConfigMap holding the exporter's configuration."}},
    {"smtp/permanent_failure",
     "Message refused (5xx)",
     {"The sender or a recipient is refused: unknown user, relay denied (554 5.7.1), sender not allowed.",
      "The message is refused: too large (552), content or policy rejection (550/554).",
      "The sender's domain fails authentication at the receiver: SPF does not list the probing host, DKIM is "
      "missing or broken, or DMARC says reject (5.7.1, 5.7.23-5.7.26).",
      "The probe's sender address is not authorised for this client (submission without AUTH, "
      "`reject_sender_login_mismatch`).",
      "The client is blocklisted or lacks authentication for relaying."},
     {"Read the server's reply in the report (and its enhanced code, e.g. 5.7.1).",
      "Check the sender domain's policies: `dig +short TXT DOMAIN` (SPF: must cover the probing host's address), "
      "`dig +short TXT SELECTOR._domainkey.DOMAIN` (DKIM), `dig +short TXT _dmarc.DOMAIN` (DMARC), for the "
      "domain of the probe's `[send] from`.",
      "Let the probe send as a sender it may use: authenticate (`[auth]`) as the owner of `from`, or allow "
      "the probing host in the receiver's sender restrictions.",
      "Check the recipients exist and the domain is local or relay is allowed: "
      "`postconf mydestination virtual_mailbox_domains relay_domains smtpd_relay_restrictions`.",
      "Find the rejection in the log: `journalctl -u postfix@- | grep -E 'reject|NOQUEUE'`."},
     {"`docker compose logs --tail=200 postfix | grep -E 'reject|NOQUEUE'`."},
     {"`kubectl logs deploy/postfix --tail=200 | grep -E 'reject|NOQUEUE'`."}},

    // ---- TLS ---------------------------------------------------------------------------
    {"tls/not_offered",
     "STARTTLS is not offered",
     {"TLS is not enabled on the server (`smtpd_tls_security_level = none`, no certificate configured).",
      "The server cannot read its certificate or key and silently turns TLS off.",
      "A firewall or middlebox strips STARTTLS from the EHLO reply (a downgrade attack, or an \"SMTP inspection\" "
      "feature)."},
     {"See the EHLO reply: `nc -v {host} {port}`, then `EHLO example.com`.",
      "Check the TLS settings: `postconf smtpd_tls_security_level smtpd_tls_cert_file smtpd_tls_key_file "
      "smtpd_tls_chain_files`.",
      "Turn STARTTLS on: `postconf -e 'smtpd_tls_security_level = may'`, then `postfix reload`.",
      "Look for key or certificate errors: `journalctl -u postfix@- | grep -i 'tls\\|certificate'`.",
      "Then test the handshake: `" SMTP_S_CLIENT "`."},
     {"Mount the certificate and key into the container (read-only volume), then "
      "`docker compose exec postfix postfix reload`."},
     {"Mount the TLS Secret into the pod: `kubectl get secret TLS_SECRET` and `kubectl describe pod -l app=postfix`; "
      "then `kubectl rollout restart deployment/postfix`."}},
    {"tls/starttls_refused",
     "STARTTLS refused (e.g. 454 TLS not available)",
     {"The server offers STARTTLS but cannot start TLS: its certificate or key cannot be loaded.",
      "A temporary problem of the server's TLS set-up (session cache, permissions)."},
     {"Find the reason in the log: `journalctl -u postfix@- | grep -i 'tls\\|certificate'`.",
      "Check the files and their permissions: `postconf smtpd_tls_cert_file smtpd_tls_key_file "
      "smtpd_tls_chain_files`, `ls -l` on each, and `postfix check`.",
      "Reproduce: `" SMTP_S_CLIENT "`."},
     {"Check that the certificate volume is mounted and readable: `docker compose exec postfix ls -l /etc/ssl`."},
     {"Check the mounted Secret: `kubectl describe pod -l app=postfix` and `kubectl get secret TLS_SECRET`."}},
    {"tls/tls_error",
     "The TLS handshake failed",
     {"A plain SMTP port probed with implicit TLS (OpenSSL says \"wrong version number\"), or a TLS port probed "
      "with STARTTLS.",
      "No TLS version or cipher in common (an old server with TLS 1.0 only, or a module's `min_version` above what "
      "the server supports).",
      "The server cannot use its certificate or key and aborts the handshake.",
      "The server requires a client certificate (`tls_config.cert_file`, `key_file`).",
      "A middlebox interferes with TLS."},
     {"Reproduce the handshake: `" SMTP_S_CLIENT "`.",
      "Try one version at a time: add `-tls1_2` or `-tls1_3` to that command.",
      "Check the module's mode against the port: `tls = \"starttls\"` for 25 and 587, `\"implicit\"` for 465.",
      "On the server: `postconf smtpd_tls_protocols smtpd_tls_mandatory_protocols smtpd_tls_ciphers` and "
      "`journalctl -u postfix@- | grep -i tls`."},
     {"Check the image's OpenSSL and certificate files: `docker compose exec postfix postconf smtpd_tls_cert_file` "
      "and `docker compose logs --tail=100 postfix | grep -i tls`."},
     {"`kubectl logs deploy/postfix --tail=100 | grep -i tls`; a TLS-terminating load balancer in front of port "
      "{port} breaks STARTTLS: pass TCP through."}},
    {"tls/session_error",
     "The TLS session broke after the handshake",
     {"The server's TLS library aborted the session (an alert in the middle of the conversation).",
      "Something between exporter and server alters or injects bytes: a middlebox, a proxy that does not "
      "understand TLS after STARTTLS, a broken load balancer.",
      "The server wrote plain text into the TLS session (a misbehaving proxy or filter in front of it)."},
     {"Reproduce the session and send the same commands by hand: `" SMTP_S_CLIENT "`, then EHLO, MAIL FROM.",
      "On the server: `journalctl -u postfix@- | grep -i 'tls\\|ssl'` around the time of the failure.",
      "Probe the server from inside its network to rule out a middlebox."},
     {"`docker compose logs --tail=100 postfix | grep -i 'tls\\|ssl'`."},
     {"`kubectl logs deploy/postfix --tail=100 | grep -i 'tls\\|ssl'`; check for a service mesh or load balancer "
      "that terminates or inspects TLS on port {port}."}},
    {"tls/certificate_error/expired",
     "The certificate has expired",
     {"Automatic renewal is not set up, or it fails (the certbot timer is not running, a challenge fails).",
      "The certificate was renewed, but the server was not reloaded and still uses the old one.",
      "The server's configuration points to an old certificate file.",
      "An intermediate certificate of the chain has expired."},
     {"See the dates: `" SMTP_S_CLIENT " 2>/dev/null | openssl x509 -noout -subject -issuer -dates`.",
      "List and renew: `certbot certificates`, then `certbot renew`.",
      "Check the renewal timer: `systemctl list-timers certbot.timer` and `journalctl -u certbot`.",
      "Check which file the server uses: `postconf smtpd_tls_cert_file smtpd_tls_chain_files` (use the renewed "
      "fullchain.pem).",
      "Load the new certificate: `postfix reload` (or `systemctl reload postfix`); reload it automatically with a "
      "deploy hook: `certbot renew --deploy-hook 'systemctl reload postfix'`."},
     {"Renew in the certbot container (`docker compose run --rm certbot renew`), then "
      "`docker compose exec postfix postfix reload` (or `docker compose restart postfix`)."},
     {"With cert-manager: `kubectl get certificate -A`, `kubectl describe certificate NAME`, and "
      "`kubectl get certificaterequest,order,challenge -A` for a stuck renewal.",
      "After the Secret is renewed: `kubectl rollout restart deployment/postfix`."}},
    {"tls/certificate_error/not_yet_valid",
     "The certificate is not valid yet",
     {"The clock of the probing host or of the server is wrong.",
      "The certificate was issued with a notBefore in the future."},
     {"Check the clocks on both hosts: `timedatectl status` (NTP synchronised?) and `date -u`.",
      "Fix time synchronisation: `systemctl status systemd-timesyncd` (or `chronyc tracking`).",
      "See the dates: `" SMTP_S_CLIENT " 2>/dev/null | openssl x509 -noout -dates`."},
     {"Containers use the host's clock: fix NTP on the Docker host."},
     {"Pods use the node's clock: fix NTP on the nodes."}},
    {"tls/certificate_error/self_signed",
     "The certificate is self-signed",
     {"The server uses a self-signed certificate, e.g. Debian's default snakeoil certificate "
      "(/etc/ssl/certs/ssl-cert-snakeoil.pem).",
      "A certificate from an internal CA that the probe does not trust."},
     {"See the certificate: `" SMTP_S_CLIENT " 2>/dev/null | openssl x509 -noout -subject -issuer`.",
      "Get a certificate from a public CA: `certbot certonly --standalone -d {name}`, set `smtpd_tls_cert_file` "
      "and `smtpd_tls_key_file` to it, then `postfix reload`.",
      "Or trust the internal CA in the module: `tls_config = { ca_file = \"/path/to/ca.pem\" }`.",
      "For MX servers, where senders do not authenticate the certificate, `tls = \"opportunistic\"` reports the "
      "problem without failing the probe."},
     {"Mount the real certificate into the container, then `docker compose exec postfix postfix reload`."},
     {"Issue the certificate with cert-manager (a `Certificate` for {name}) and mount its Secret; then "
      "`kubectl rollout restart deployment/postfix`."}},
    {"tls/certificate_error/unknown_ca",
     "The certificate is not issued by a trusted CA",
     {"The server does not send its intermediate certificate(s): its file has the leaf only instead of the full "
      "chain.",
      "A private or internal CA that the probe does not trust.",
      "The probing host's CA bundle is old or missing."},
     {"See the chain the server sends: `" SMTP_S_CLIENT " -showcerts`.",
      "Serve the full chain: point `smtpd_tls_cert_file` to fullchain.pem (not cert.pem), then `postfix reload`.",
      "For an internal CA, trust it in the module: `tls_config = { ca_file = \"/path/to/ca.pem\" }`.",
      "Update the CA bundle of the probing host: `apt-get install --reinstall ca-certificates` and "
      "`update-ca-certificates`."},
     {"Install ca-certificates in the exporter's image, or mount the internal CA and set `tls_config.ca_file`."},
     {"Mount the internal CA from a ConfigMap and set `tls_config.ca_file`; with cert-manager, the Secret's tls.crt "
      "holds the full chain."}},
    {"tls/certificate_error/hostname_mismatch",
     "The certificate does not match the server name",
     {"The certificate is not for the name that was checked ({name}): probed by IP address or by an alias.",
      "The MX record points to a name that the certificate does not cover.",
      "The server presents another site's (or its default) certificate.",
      "`--hostname`, `&hostname=` or `tls_config.server_name` names the wrong host."},
     {"See the names in the certificate: `" SMTP_S_CLIENT " 2>/dev/null | openssl x509 -noout -subject -ext "
      "subjectAltName`.",
      "Probe with a name the certificate covers: `smtp_exporter check {target} --module {module} --hostname NAME` "
      "(or `tls_config.server_name`).",
      "For a mail domain, the MX host names must be in the certificate: `dig MX {domain}`.",
      "Or reissue the certificate with every name: `certbot certonly -d {name} -d OTHER_NAME`, then "
      "`postfix reload`."},
     {"Mount the certificate that covers {name}, then `docker compose exec postfix postfix reload`."},
     {"Add {name} to the `dnsNames` of the cert-manager Certificate; then "
      "`kubectl rollout restart deployment/postfix`."}},
    {"tls/certificate_error",
     "The certificate did not verify",
     {"The certificate was revoked, is not meant for TLS servers (invalid purpose), uses a weak key or signature, "
      "or the server sent none."},
     {"See OpenSSL's verdict (the \"Verify return code\" line): `" SMTP_S_CLIENT " -showcerts`.",
      "Replace the certificate with a valid one, then `postfix reload`."},
     {"Mount the new certificate, then `docker compose exec postfix postfix reload`."},
     {"Renew the Secret (cert-manager: `kubectl describe certificate NAME`), then "
      "`kubectl rollout restart deployment/postfix`."}},

    // ---- Degraded ----------------------------------------------------------------------
    {"health/cert_expiring",
     "The certificate expires soon",
     {"Automatic renewal is not set up, or it fails.",
      "The certificate was renewed, but the server was not reloaded and still presents the old one.",
      "A certificate installed by hand."},
     {"See the expiry date: `" SMTP_S_CLIENT " 2>/dev/null | openssl x509 -noout -enddate`.",
      "Renew: `certbot renew` (test first with `certbot renew --dry-run`); check the timer: "
      "`systemctl list-timers certbot.timer` and `journalctl -u certbot`.",
      "Load the new certificate: `postfix reload` (or `systemctl reload postfix`).",
      "Reload automatically after each renewal: put `systemctl reload postfix` in a deploy hook "
      "(/etc/letsencrypt/renewal-hooks/deploy/)."},
     {"Renew in the certbot container (`docker compose run --rm certbot renew`), then "
      "`docker compose exec postfix postfix reload`."},
     {"With cert-manager: `kubectl describe certificate NAME` (see `Renewal Time`), force it with "
      "`cmctl renew NAME`, then `kubectl rollout restart deployment/postfix`."}},
    {"health/slow_greeting",
     "The greeting is slow",
     {"Reverse DNS lookups of the client before the greeting, with a slow resolver.",
      "postscreen's greet pause (`postscreen_greet_wait`) or tarpitting of unknown clients.",
      "The server is overloaded: busy processes, disk I/O, a content filter backlog."},
     {"Time the greeting from another host too: `time swaks --server {host}:{port} --quit-after BANNER` "
      "(package swaks).",
      "Check the server's resolver: `time dig -x {address}` run on the server.",
      "Check the greeting delays: `postconf postscreen_greet_wait postscreen_greet_action smtpd_delay_reject`.",
      "Check the load: `uptime`, `mailq | tail -1`, and "
      "`journalctl -u postfix@- | grep -i 'all server ports busy\\|process limit'`.",
      "If the delay is intended, raise the module's `degraded_banner_latency`."},
     {"Check the container's load and limits: `docker stats`."},
     {"Check the pods' load and limits: `kubectl top pod -l app=postfix`."}},
};

#undef SMTP_S_CLIENT

void add_unique(std::vector<std::string>& keys, std::string key) {
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

const std::vector<Remediation>& remediation_table() {
  static const std::vector<Remediation> all = [] {
    std::vector<Remediation> out = kTable;
    for (const probes::Check* check : probes::checks())
      out.insert(out.end(), check->remediations().begin(), check->remediations().end());
    return out;
  }();
  return all;
}

const Remediation* find_remediation(std::string_view key) {
  for (const auto& entry : remediation_table())
    if (entry.key == key) return &entry;
  return nullptr;
}

std::optional<std::string> advice_line(std::string_view text, const RemediationContext& context) {
  // `dig +short A {host}`, `dig {host}`: nothing to look up for an address
  // (a reverse lookup, `dig -x`, still is).
  if (context.host_is_address && text.find("dig ") != std::string_view::npos &&
      text.find("{host}") != std::string_view::npos && text.find("dig -x") == std::string_view::npos)
    return std::nullopt;
  std::string line = expand(text, context);
  if (context.dns_server.empty()) return line;
  std::string out;
  std::size_t at = 0;
  for (std::size_t found; (found = line.find("`dig ", at)) != std::string::npos; at = found + 5) {
    out.append(line, at, found + 5 - at);
    if (line.compare(found + 5, 8, "@SERVER ") == 0) {
      out += "@" + context.dns_server + " ";
      found += 8;
    } else if (line.compare(found + 5, 1, "@") != 0 && line.compare(found + 5, 7, "+trace ") != 0) {
      out += "@" + context.dns_server + " ";  // not for a trace: it starts at the root
    }
  }
  out.append(line, at);
  return out;
}

namespace {

std::string anchor(std::string_view key) {
  std::string id;
  for (char c : key) id += (c == '/' || c == '_') ? '-' : c;
  return id;
}

void bullets(std::string& out, const std::vector<std::string_view>& items, const RemediationContext& context) {
  for (auto item : items) out += "- " + expand(item, context) + "\n";
}

}  // namespace

std::vector<std::string> failure_keys(probes::Stage stage, probes::FailureReason reason,
                                      const std::vector<std::string>& verify_errors) {
  using probes::FailureReason;
  using probes::Stage;
  const bool dns_stage = stage == Stage::mx || stage == Stage::resolve;
  auto only_at_dns = [&](const char* key) { return dns_stage ? std::vector<std::string>{key} : std::vector<std::string>{}; };
  // No default: a new reason without advice does not compile (-Wswitch).
  switch (reason) {
    case FailureReason::auth_error: return {"auth/auth_error"};
    case FailureReason::temporary_failure: return {"smtp/temporary_failure"};
    case FailureReason::permanent_failure: return {"smtp/permanent_failure"};
    case FailureReason::dane_mismatch: return {"dane/mismatch"};
    case FailureReason::dnssec_bogus: return {"dane/dnssec_bogus"};
    case FailureReason::tlsa_lookup_error: return {"dane/tlsa_lookup_error"};
    case FailureReason::imap_connect: return {"delivery/imap_connect"};
    case FailureReason::imap_auth: return {"delivery/imap_auth"};
    case FailureReason::imap_error: return {"delivery/imap_error"};
    case FailureReason::not_delivered: return {"delivery/not_delivered"};
    case FailureReason::delivered_to_junk: return {"delivery/delivered_to_junk"};
    // MTA-STS (the mta_sts unit's own entries)
    case FailureReason::txt_missing: return {"mta_sts/txt_missing"};
    case FailureReason::txt_invalid: return {"mta_sts/txt_invalid"};
    case FailureReason::policy_fetch_error: return {"mta_sts/policy_fetch_error"};
    case FailureReason::policy_certificate_error: return {"mta_sts/policy_certificate_error"};
    case FailureReason::policy_http_status: return {"mta_sts/policy_http_status"};
    case FailureReason::policy_content_type: return {"mta_sts/policy_content_type"};
    case FailureReason::policy_too_large: return {"mta_sts/policy_too_large"};
    case FailureReason::policy_invalid: return {"mta_sts/policy_invalid"};
    case FailureReason::null_mx: return {"dns/null_mx"};
    case FailureReason::no_reachable_mx: return {"connect/no_reachable_mx"};
    case FailureReason::not_offered: return {stage == Stage::auth ? "auth/not_offered" : "tls/not_offered"};
    case FailureReason::plaintext_auth_refused: return {"auth/plaintext_auth_refused"};
    case FailureReason::tls_error:
      return {stage == Stage::tls || stage == Stage::starttls ? "tls/tls_error" : "tls/session_error"};
    case FailureReason::closed: return {"smtp/closed"};
    case FailureReason::connection_error: return {"connection/error"};
    case FailureReason::unreachable: return {"connect/unreachable"};
    case FailureReason::certificate_error: {
      std::vector<std::string> keys;
      for (std::string_view specific : {"expired", "not_yet_valid", "self_signed", "unknown_ca", "hostname_mismatch"})
        if (contains(verify_errors, specific)) keys.push_back("tls/certificate_error/" + std::string(specific));
      bool other = keys.empty() || std::any_of(verify_errors.begin(), verify_errors.end(), [](const std::string& e) {
                     return !find_remediation("tls/certificate_error/" + e);
                   });
      if (other) keys.push_back("tls/certificate_error");
      return keys;
    }
    // DNS answers mean something only at the DNS stages.
    case FailureReason::nxdomain: return only_at_dns("dns/nxdomain");
    case FailureReason::nodata: return only_at_dns("dns/nodata");
    case FailureReason::servfail: return only_at_dns("dns/servfail");
    case FailureReason::dns_error: return only_at_dns("dns/dns_error");
    case FailureReason::refused:
      if (dns_stage) return {"dns/refused"};
      if (stage == Stage::connect) return {"connect/refused"};
      return {};
    case FailureReason::timeout:
      if (dns_stage) return {"dns/timeout"};
      if (stage == Stage::connect) return {"connect/timeout"};
      if (stage == Stage::banner) return {"banner/timeout"};
      return {"smtp/timeout"};
    case FailureReason::protocol_error:
      if (dns_stage) return {"dns/dns_error"};
      if (stage == Stage::connect) return {};
      return {stage == Stage::banner ? "banner/protocol_error" : "smtp/protocol_error"};
    case FailureReason::unexpected_code:
      if (dns_stage) return {"dns/dns_error"};
      if (stage == Stage::connect) return {};
      if (stage == Stage::banner) return {"banner/unexpected_code"};
      if (stage == Stage::ehlo) return {"ehlo/unexpected_code"};
      if (stage == Stage::starttls) return {"tls/starttls_refused"};
      return {"smtp/unexpected_reply"};
  }
  return {};
}

namespace {

// The enumerator whose name is `name`, walking them until to_string says "unknown".
template <typename Enum>
std::optional<Enum> named(std::string_view name) {
  for (int i = 0;; ++i) {
    std::string_view known = probes::to_string(static_cast<Enum>(i));
    if (known == "unknown") return std::nullopt;
    if (known == name) return static_cast<Enum>(i);
  }
}

}  // namespace

std::vector<std::string> failure_keys(std::string_view stage, std::string_view reason,
                                      const std::vector<std::string>& verify_errors) {
  auto s = named<probes::Stage>(stage);
  auto r = named<probes::FailureReason>(reason);
  if (!s || !r) return {};
  return failure_keys(*s, *r, verify_errors);
}

std::vector<const Remediation*> remediation_for(const probes::ProbeResult& result, const config::Module& module) {
  std::vector<std::string> keys;
  auto add_failure = [&](const probes::ProbeResult& r, const probes::Failure& f) {
    static const std::vector<std::string> kNone;
    const std::vector<std::string>& errors = r.tls ? r.tls->verify_errors : kNone;
    for (auto& key : failure_keys(f.stage, f.reason, errors))
      add_unique(keys, std::move(key));
  };
  if (result.failure && result.failure->reason == probes::FailureReason::unexpected_code) {
    // A negative check (expect_code) that the server failed: name what it means.
    const probes::Stage stage = result.failure->stage;
    bool accepted = std::any_of(result.recipients.begin(), result.recipients.end(),
                                [](const probes::ProbeResult::Recipient& r) { return r.code / 100 == 2; });
    if (stage == probes::Stage::rcpt && module.expect_code.contains("rcpt") && accepted)
      add_unique(keys, "smtp/open_relay");
    if (stage == probes::Stage::auth && module.expect_code.contains("auth") && !module.auth)
      add_unique(keys, "auth/accepted_without_tls");
  }
  if (result.failure) {
    // A mail domain's failure may be a host's one, whose TLS facts are the host's.
    const probes::ProbeResult* source = &result;
    for (const auto& host : result.mx_hosts)
      if (!result.tls && host.result.failure && host.result.failure->stage == result.failure->stage &&
          host.result.failure->reason == result.failure->reason) {
        source = &host.result;
        break;
      }
    add_failure(*source, *result.failure);
    for (const auto& host : result.mx_hosts)
      if (host.result.failure) add_failure(host.result, *host.result.failure);
  }
  // The findings (a certificate expiring or expired, a slow greeting, no MX
  // records, the check units' own) carry their keys: the same findings that
  // classify_health judges, so advice and health cannot disagree.
  for (const auto& finding : probes::check_findings(result, module)) add_unique(keys, finding.key);
  for (const auto& host : result.mx_hosts)
    for (const auto& finding : probes::check_findings(host.result, module, true)) add_unique(keys, finding.key);

  std::vector<const Remediation*> entries;
  for (const auto& key : keys)
    if (const Remediation* entry = find_remediation(key)) entries.push_back(entry);
  return entries;
}

FindingId identify(const probes::Finding& finding, const probes::ProbeResult& result) {
  std::string key = finding.key;
  if (key.empty() && result.failure) {
    static const std::vector<std::string> kNone;
    auto keys = failure_keys(result.failure->stage, result.failure->reason, result.tls ? result.tls->verify_errors : kNone);
    key = keys.empty() ? std::string(probes::to_string(result.failure->stage)) + "/" +
                             std::string(probes::to_string(result.failure->reason))
                       : keys.front();
  }
  std::string category = key.substr(0, key.find('/'));
  if (key == "health/cert_expiring") category = "tls";
  else if (key == "health/slow_greeting") category = "performance";
  else if (category == "connection" || category == "banner") category = "connect";
  else if (category == "ehlo") category = "smtp";
  else if (category == "fcrdns") category = "dns";
  std::string url = find_remediation(key) ? std::string(kTroubleshootingUrl) + "#" + anchor(key) : "";
  return {key, category, url};
}

std::string expand(std::string_view text, const RemediationContext& c) {
  const std::pair<std::string_view, std::string> kPlaceholders[] = {
      {"{host}", c.host},         {"{port}", c.port},     {"{name}", c.name},
      {"{domain}", c.domain},     {"{address}", c.address}, {"{target}", c.target},
      {"{module}", c.module},     {"{starttls}", c.implicit_tls ? "" : "-starttls smtp "},
  };
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    bool replaced = false;
    if (text.front() == '{') {
      for (const auto& [placeholder, value] : kPlaceholders)
        if (text.starts_with(placeholder)) {
          out += value;
          text.remove_prefix(placeholder.size());
          replaced = true;
          break;
        }
    }
    if (!replaced) {
      out += text.front();
      text.remove_prefix(1);
    }
  }
  return out;
}


std::string remediation_markdown() {
  const RemediationContext generic;  // HOST, PORT, NAME, ...
  std::string out =
      "# Troubleshooting\n\n"
      "<!-- Generated by `smtp_exporter check --remediation-markdown` from the table in\n"
      "     exporter/views/remediation.cpp. Do not edit by hand: edit the table and regenerate. -->\n\n"
      "What each failure (`probe_smtp_failure_info{stage, reason}`) and each degraded finding\n"
      "(`probe_smtp_health{status=\"degraded\"}`) usually means, and how to fix it. `smtp_exporter check TARGET`\n"
      "runs one probe and prints the sections that apply, with the target's values filled in.\n\n"
      "In the commands, `HOST` and `PORT` are the server probed, `NAME` the name its certificate is checked\n"
      "against, `DOMAIN` the mail domain, `ADDRESS` the IP address connected to, `TARGET` and `MODULE` the\n"
      "probe's target and module. The `openssl s_client` commands are for STARTTLS: for implicit TLS (port\n"
      "465), leave out `-starttls smtp`. The Docker examples call the mail server's Compose service `postfix`,\n"
      "the Kubernetes examples its Deployment `postfix` (pods labelled `app=postfix`): use your own names.\n\n"
      "| Key | Problem |\n|---|---|\n";
  for (const auto& entry : remediation_table())
    out += "| [`" + std::string(entry.key) + "`](#" + anchor(entry.key) + ") | " + std::string(entry.title) + " |\n";
  for (const auto& entry : remediation_table()) {
    out += "\n<a id=\"" + anchor(entry.key) + "\"></a>\n\n## `" + std::string(entry.key) + "`: " +
           std::string(entry.title) + "\n\nLikely causes:\n\n";
    bullets(out, entry.causes, generic);
    out += "\nHow to fix (Debian, systemd):\n\n";
    bullets(out, entry.fixes, generic);
    if (!entry.docker.empty()) {
      out += "\nDocker:\n\n";
      bullets(out, entry.docker, generic);
    }
    if (!entry.kubernetes.empty()) {
      out += "\nKubernetes:\n\n";
      bullets(out, entry.kubernetes, generic);
    }
  }
  return out;
}

}  // namespace smtp_exporter::exporter
