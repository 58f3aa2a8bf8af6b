#!/usr/bin/env bash
# Real WordPress (Debian's `wordpress` package, 6.1.x) + MariaDB + Apache/mod_php,
# served on 127.0.0.1:8080 only, as a REST-API acceptance target.
#
# Usage: ./setup.sh [all|install|configure|start|stop|restart|status|seed [N]|reset [N]]
#   all (default)  install packages, configure DB/WP/Apache, start, install site,
#                  seed (only if not yet seeded with the same N), quick smoke test
#   start|stop|restart|status   services only (no systemd needed; PIDs from pid files)
#   seed [N] [seed.php args]  wipe content, re-seed deterministically with N posts
#                  (default $POSTS), rewrite expected-counts.json
#   reset [N]      drop the database, then `all` (fresh install + seed)
# Env: WP_PORT (8080) WP_BIND (127.0.0.1, loopback only) POSTS (1200) ADMIN_PASS
#      WP_DB_NAME/WP_DB_USER (wpbench) FORCE_SEED=1 (reseed even if already seeded)
#      SEED_ARGS (extra seed.php args, e.g. "--hidden-comments=0")
# Idempotent: safe to run again; on a fresh Debian 12 machine it does everything.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
# Where a (re)seed writes the expected counts: next to this script when it is writable,
# else in a temporary folder (the shipped expected-counts.json is for the default seed).
if [ -w "$HERE" ]; then EXPECTED_OUT="${EXPECTED_OUT:-$HERE/expected-counts.json}"
else EXPECTED_OUT="${EXPECTED_OUT:-${TMPDIR:-/tmp}/wordpress-fixture/expected-counts.json}"; mkdir -p "$(dirname "$EXPECTED_OUT")"; fi

BIND="${WP_BIND:-127.0.0.1}"
PORT="${WP_PORT:-8080}"
SITE_URL="http://${BIND}:${PORT}"
DB_NAME="${WP_DB_NAME:-wpbench}"
DB_USER="${WP_DB_USER:-wpbench}"
POSTS="${POSTS:-1200}"
ADMIN_PASS="${ADMIN_PASS:-wpbench-admin}"   # loopback-only test site

WP_ROOT=/usr/share/wordpress
WP_CONTENT=/var/lib/wordpress/wp-content
WP_CONF=/etc/wordpress/config-default.php
APACHE_SITE=/etc/apache2/sites-available/wpbench.conf
MARKER="managed by wordpress-lakehouse test/wordpress/setup.sh"

PACKAGES=(wordpress wordpress-theme-twentytwentythree mariadb-server mariadb-client
          php-cli php-mysql php-mbstring php-xml php-curl php-gd
          apache2 libapache2-mod-php curl jq ca-certificates)

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

case "$BIND" in 127.*) ;; *) die "WP_BIND must be a loopback address (got $BIND)";; esac
[ "$(id -u)" = 0 ] || die "run as root"

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
  else
    log "packages already installed"
  fi
}

db_alive() { mysqladmin --protocol=socket ping >/dev/null 2>&1; }

start_db() {
  if db_alive; then log "mariadb already running (pid $(cat /run/mysqld/mysqld.pid 2>/dev/null))"; return; fi
  log "starting mariadb"
  # No systemd here (and policy-rc.d may deny invoke-rc.d): call the SysV script directly.
  /etc/init.d/mariadb start >/dev/null || service mariadb start >/dev/null || true
  for _ in $(seq 1 60); do db_alive && break; sleep 0.5; done
  db_alive || die "mariadb did not start"
  log "mariadb pid $(cat /run/mysqld/mysqld.pid)"
}

stop_db() {
  if db_alive; then log "stopping mariadb (pid $(cat /run/mysqld/mysqld.pid 2>/dev/null))"; /etc/init.d/mariadb stop >/dev/null || mysqladmin shutdown; fi
}

apache_pid() { local f=/var/run/apache2/apache2.pid; [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }

start_apache() {
  if apache_pid >/dev/null; then
    log "apache running (pid $(apache_pid)); graceful reload"
    apache2ctl graceful
  else
    log "starting apache on ${BIND}:${PORT}"
    apache2ctl start
  fi
  for _ in $(seq 1 60); do curl -s -o /dev/null "$SITE_URL/wp-login.php" && break; sleep 0.5; done
  curl -s -o /dev/null "$SITE_URL/wp-login.php" || die "apache not answering on $SITE_URL"
  log "apache pid $(apache_pid)"
}

stop_apache() {
  if apache_pid >/dev/null; then log "stopping apache (pid $(apache_pid))"; apache2ctl stop; sleep 1; fi
}

# Read a constant from the existing WP config (to keep password/salts stable across runs).
conf_get() { [ -f "$WP_CONF" ] && grep -q "$MARKER" "$WP_CONF" && \
  sed -n "s/^define('$1', '\([A-Za-z0-9_]*\)');\$/\1/p" "$WP_CONF" | head -1 || true; }
rand_token() { php -r 'echo bin2hex(random_bytes((int)$argv[1]));' "$(( ${1:-48} / 2 ))"; }

configure_db_and_wp() {
  local pw; pw="$(conf_get DB_PASSWORD)"; [ -n "$pw" ] || pw="$(rand_token 24)"
  log "configuring database $DB_NAME / user $DB_USER"
  mysql --protocol=socket -u root <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$pw';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL
  log "writing $WP_CONF"
  local salts="" k v
  for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
    v="$(conf_get "$k")"; [ -n "$v" ] || v="$(rand_token 64)"
    salts+="define('$k', '$v');"$'\n'
  done
  local tmp; tmp="$(mktemp)"
  cat >"$tmp" <<PHP
<?php
// $MARKER -- regenerated on every run (password and salts are kept)
// Debian's /usr/share/wordpress/wp-config.php loads this file for any Host header.
define('DB_NAME', '$DB_NAME');
define('DB_USER', '$DB_USER');
define('DB_PASSWORD', '$pw');
define('DB_HOST', 'localhost');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('WP_HOME', '$SITE_URL');
define('WP_SITEURL', '$SITE_URL');
define('WP_ENVIRONMENT_TYPE', 'local');
define('DISABLE_WP_CRON', true);          // no background self-requests / pings
define('WP_HTTP_BLOCK_EXTERNAL', true);   // no outbound HTTP (update checks etc.)
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_DEBUG', false);
$salts\$table_prefix = 'wp_';
PHP
  install -o root -g www-data -m 0640 "$tmp" "$WP_CONF"; rm -f "$tmp"
  # mu-plugins: post meta in REST, a custom post type with a taxonomy, whole-table endpoints (see each file)
  install -d -o www-data -g www-data "$WP_CONTENT/mu-plugins"
  install -o root -g root -m 0644 mu-plugins/*.php "$WP_CONTENT/mu-plugins/"
}

configure_apache() {
  log "configuring apache (${BIND}:${PORT} only)"
  cat >/etc/apache2/ports.conf <<CONF
# $MARKER -- loopback only
Listen ${BIND}:${PORT}
CONF
  cat >"$APACHE_SITE" <<CONF
# $MARKER
ServerName ${BIND}
<VirtualHost ${BIND}:${PORT}>
    ServerName ${BIND}
    ServerAlias localhost
    DocumentRoot ${WP_ROOT}
    DirectoryIndex index.php index.html
    Alias /wp-content ${WP_CONTENT}
    <Directory ${WP_ROOT}>
        Options FollowSymLinks
        AllowOverride None
        Require all granted
        # WordPress pretty permalinks (same rules WP writes to .htaccess)
        RewriteEngine On
        RewriteBase /
        RewriteRule ^index\.php$ - [L]
        RewriteCond %{REQUEST_FILENAME} !-f
        RewriteCond %{REQUEST_FILENAME} !-d
        RewriteRule . /index.php [L]
    </Directory>
    <Directory ${WP_CONTENT}>
        Options FollowSymLinks
        Require all granted
    </Directory>
    ErrorLog \${APACHE_LOG_DIR}/wpbench-error.log
    CustomLog \${APACHE_LOG_DIR}/wpbench-access.log combined
</VirtualHost>
CONF
  a2enmod -q rewrite >/dev/null
  local phpmod; phpmod="$(basename "$(ls /etc/apache2/mods-available/php*.load | head -1)" .load)"
  a2dismod -q mpm_event >/dev/null 2>&1 || true
  a2enmod -q mpm_prefork "$phpmod" >/dev/null
  a2dissite -q 000-default >/dev/null 2>&1 || true
  a2ensite -q wpbench >/dev/null
  apache2ctl configtest 2>&1 | grep -v '^Syntax OK' >&2 || true
}

install_site() {
  log "installing WordPress site (skipped if already installed)"
  php install-site.php "$SITE_URL" "$ADMIN_PASS"
}

seeded_n() { mysql --protocol=socket -u root -N -B "$DB_NAME" -e \
  "SELECT option_value FROM wp_options WHERE option_name='wpbench_seed_posts'" 2>/dev/null || true; }

seed() {
  local n="${1:-$POSTS}"; shift || true
  log "seeding $n posts (wipes existing content) ${SEED_ARGS:-} $*"
  # shellcheck disable=SC2086
  WP_BENCH_URL="$SITE_URL" php seed.php "$n" --out="$EXPECTED_OUT" ${SEED_ARGS:-} "$@" >/dev/null
  log "expected counts: $(jq -c '{posts,pages,categories,tags,users,comments,media}' "$EXPECTED_OUT")"
}

smoke() {
  local h; h="$(curl -s -D - -o /dev/null "$SITE_URL/wp-json/wp/v2/posts?per_page=1")"
  echo "$h" | grep -iE '^(HTTP|X-WP-Total)' >&2
  echo "$h" | head -1 | grep -q ' 200' || die "REST API not answering 200"
}

status() {
  echo "mariadb: $(db_alive && echo "running pid $(cat /run/mysqld/mysqld.pid)" || echo stopped)"
  echo "apache:  $(apache_pid >/dev/null && echo "running pid $(apache_pid)" || echo stopped) on $SITE_URL"
  ss -ltnp 2>/dev/null | grep -E ":(${PORT}|3306) " || true
}

cmd="${1:-all}"
case "$cmd" in
  all)
    install_packages; start_db; configure_db_and_wp; configure_apache; install_site; start_apache
    if [ "${FORCE_SEED:-0}" = 1 ] || [ "$(seeded_n)" != "$POSTS" ]; then seed "$POSTS"; else log "already seeded with $POSTS posts (FORCE_SEED=1 to redo)"; fi
    smoke; status ;;
  install) install_packages ;;
  configure) start_db; configure_db_and_wp; configure_apache ;;
  start) start_db; start_apache; status ;;
  stop) stop_apache; stop_db ;;
  restart) stop_apache; start_db; start_apache; status ;;
  status) status ;;
  seed) start_db; seed "${2:-$POSTS}" "${@:3}" ;;
  reset)
    start_db
    log "dropping database $DB_NAME"
    mysql --protocol=socket -u root -e "DROP DATABASE IF EXISTS \`$DB_NAME\`"
    POSTS="${2:-$POSTS}" FORCE_SEED=1 "$HERE/$(basename "$0")" all ;;
  *) sed -n '2,17p' "$0"; exit 2 ;;
esac
