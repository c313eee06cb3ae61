# Installing what a script needs on Debian, sourced by kargo's scripts:
#   apt_install <package...>    install them (apt-get update once per script)
#   need <command> [package]    install `package` (default: the command's
#                               name) when `command` is not there
# A failed install stops the script (set -e) with apt's own message: only its
# progress output is silenced. Package maintainer scripts must not start
# services (there is no init system to stop them, and the Debian registry's
# default one would take port 5000): a deny-all policy-rc.d is in place while
# apt runs, unless the system has one. needrestart must not restart daemons.
# apt waits for another apt or dpkg to finish (up to 10 minutes) rather than
# failing at once: two tests of one suite, or an operator's upgrade, may
# install at the same time.

apt_updated=${apt_updated:-}

apt_install() {
    local guard=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        guard=1
    fi
    local rc=0
    {
        if [[ -z $apt_updated ]]; then
            apt-get -o DPkg::Lock::Timeout=600 update -qq && apt_updated=1
        fi &&
        DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
    } || rc=$?
    [[ -z $guard ]] || rm -f /usr/sbin/policy-rc.d
    if [[ $rc -ne 0 ]]; then
        echo "apt-get install $* failed (exit $rc): see apt's message above" >&2
        return "$rc"
    fi
}

need() {
    local cmd=$1 pkg=${2:-$1}
    command -v "$cmd" >/dev/null 2>&1 && return 0
    echo "installing $pkg (for $cmd)"
    apt_install "$pkg"
}
