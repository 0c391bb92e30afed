# Shared set-up for scripts/demo and scripts/test: make sure a PostgreSQL (and, for the tests,
# a MariaDB) server is installed and running locally, installing Debian packages and starting the
# server when missing, and reusing whatever already runs.
set -euo pipefail

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root for: $*"; return 1; fi
}

apt_install() {
    log "installing $* from Debian packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

ensure_postgres() {
    if command -v pg_isready >/dev/null && pg_ready; then return 0; fi
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        apt_install postgresql postgresql-client
    fi
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    if ! ls /etc/postgresql/"$version"/main >/dev/null 2>&1; then
        as_root pg_createcluster "$version" main >/dev/null
    fi
    # Trust auth on loopback for the local test server, as on the development machines.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba" 2>/dev/null; then
        as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 50); do pg_ready && break; sleep 0.2; done
    pg_ready || { log "PostgreSQL did not start"; return 1; }
    as_root runuser -u postgres -- psql -q -h 127.0.0.1 -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'root') THEN CREATE ROLE root SUPERUSER LOGIN; END IF; END\$\$" >/dev/null 2>&1 || true
}

mariadb_ready() { mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; }

# The tests log in as root over TCP without a password (ZDM_TEST_MYSQL_URL's default).
mariadb_login_ok() { mariadb -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1; }

ensure_mariadb() {
    if command -v mariadb-admin >/dev/null && mariadb_ready; then
        ensure_mariadb_login
        return
    fi
    if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
        apt_install mariadb-server mariadb-client
    fi
    log "starting MariaDB"
    as_root install -d -o mysql -g mysql /run/mysqld 2>/dev/null || true
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 50); do mariadb_ready && break; sleep 0.2; done
    mariadb_ready || { log "MariaDB did not start"; return 1; }
    ensure_mariadb_login
}

# Debian's MariaDB lets root in through the unix socket only; allow the tests' TCP login too.
ensure_mariadb_login() {
    mariadb_login_ok && return 0
    [ -n "${ZDM_TEST_MYSQL_URL:-}" ] && return 0
    log "allowing root@localhost to log in over TCP without a password (test server)"
    as_root mariadb -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES" >/dev/null 2>&1 || true
    mariadb_login_ok || log "warning: cannot log in to MariaDB as root over TCP; set ZDM_TEST_MYSQL_URL"
}

ensure_rust_tools() {
    command -v cargo >/dev/null || { log "cargo is required (https://rustup.rs)"; return 1; }
    if ! cargo nextest --version >/dev/null 2>&1; then
        log "installing cargo-nextest"
        cargo install --locked cargo-nextest >/dev/null
    fi
}

# The observability tests: promtool (rules, exposition), headless Chromium + ChromeDriver (the
# status page), Python's prometheus_client (a strict OpenMetrics parser).
ensure_observability_tools() {
    local missing=()
    command -v promtool >/dev/null || missing+=(prometheus)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
    if ! python3 -c 'import prometheus_client' 2>/dev/null; then
        log "installing prometheus_client from PyPI"
        python3 -m pip install -q prometheus_client >/dev/null 2>&1 \
            || python3 -m pip install -q --break-system-packages prometheus_client >/dev/null
    fi
}
