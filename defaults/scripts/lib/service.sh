# Helpers for the operations scripts (sourced, not run: `exec:` runs only
# the files right under scripts/). The environment is kargo's: STACKS,
# <STACK>_STACK, DOCKER_HOST / DOCKER_CONTEXT pinned to kargo's engine.

# stack_of <service>: the stack whose <STACK>_STACK lists the service.
stack_of() {
    local stack var
    for stack in $STACKS; do
        var="$(printf '%s' "$stack" | tr 'a-z-' 'A-Z_')_STACK"
        case " ${!var:-} " in *" $1 "*) printf '%s\n' "$stack"; return 0 ;; esac
    done
    echo "$0: no stack of STACKS lists the service $1" >&2
    return 1
}

# container_of <service>: a running container of the service on this node.
container_of() {
    local stack name id
    stack=$(stack_of "$1") || return 1
    name="kargo-${stack}_$1"
    id=$(docker ps -q --filter "label=com.docker.swarm.service.name=$name" \
                      --filter status=running | head -n 1)
    if [ -z "$id" ]; then
        echo "$0: no task of $name runs on this node (docker service ps $name)" >&2
        return 1
    fi
    printf '%s\n' "$id"
}
