#!/usr/bin/env bash
# Make sure the SQL servers the tests write to are up: PostgreSQL on 127.0.0.1:5432 (trust auth, db
# `test`) and MariaDB on 127.0.0.1:3306 (root, no password, db `test`), and the Redis broker of the
# Celery lane on 127.0.0.1:6379. Machines that already run them are left alone; elsewhere they are
# installed from Debian's packages and started.
set -uo pipefail

log() { printf '[services] %s\n' "$*"; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${_APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null && _APT_UPDATED=1; fi
  apt-get install -y -qq "$@" >/dev/null
}

pg_up() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; }

ensure_postgres() {
  if pg_up; then log "PostgreSQL is running"; else
    command -v pg_ctlcluster >/dev/null || { log "installing PostgreSQL"; apt_install postgresql; }
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$version" ] || { log "no PostgreSQL cluster found"; return 1; }
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up || { log "PostgreSQL did not start"; return 1; }
  fi
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null
}

maria_up() { command -v mariadb >/dev/null && mariadb -h 127.0.0.1 -P 3306 -uroot -e 'SELECT 1' >/dev/null 2>&1; }

ensure_mariadb() {
  if maria_up; then log "MariaDB is running"; else
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || { log "installing MariaDB"; apt_install mariadb-server; }
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1 || true
    for _ in $(seq 1 30); do maria_up && break; sleep 1; done
    if ! maria_up; then
      # A fresh install lets root in through the socket only: allow it over TCP with no password.
      mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;" 2>/dev/null || true
    fi
    maria_up || { log "MariaDB did not start"; return 1; }
  fi
  mariadb -h 127.0.0.1 -uroot -e 'CREATE DATABASE IF NOT EXISTS test' >/dev/null
}

redis_up() { command -v redis-cli >/dev/null && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

ensure_redis() {
  if redis_up; then log "Redis is running"; else
    command -v redis-server >/dev/null || { log "installing Redis"; apt_install redis-server; }
    # No persistence: the broker's queues live as long as the CI run.
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null || true
    for _ in $(seq 1 30); do redis_up && break; sleep 1; done
    redis_up || { log "Redis did not start"; return 1; }
  fi
}

status=0
ensure_postgres || status=1
ensure_mariadb || status=1
ensure_redis || status=1
exit $status
