# bash completion for anycastd(8): commands, show subcommands, options, service names and VIPs
# (asked of the running agent through `anycastd show services --json`, when it answers). `demo` and
# `bench` run the harness of a source checkout and are not offered (the package has no harness).
_anycastd_services() {
    local socket=$1
    anycastd show services --json ${socket:+--socket "$socket"} 2>/dev/null |
        grep -o '"name":"[^"]*"' | cut -d'"' -f4
}

_anycastd_vips() {
    local socket=$1
    anycastd show services --json ${socket:+--socket "$socket"} 2>/dev/null |
        grep -o '"vips":\[[^]]*\]' | grep -o '"[0-9a-fA-F.:]*"' | tr -d '"'
}

_anycastd_peers() {
    local socket=$1
    anycastd show peers --json ${socket:+--socket "$socket"} 2>/dev/null |
        grep -o '"name":"[^"]*"' | cut -d'"' -f4
}

_anycastd() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else # without the bash-completion package
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local commands="run check plan show drain undrain reload peer cleanup help"
    local shows="status peers peer services checks instances routes rings flows"
    local api_opts="--socket --json --help"
    local socket="" i
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} == --socket || ${words[i]} == -s ]]; then socket=${words[i + 1]}; fi
    done

    case $prev in
        --socket | -s)
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --config | -c | --pin-dir | --from)
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --limit | -n)
            return
            ;;
    esac

    if ((cword == 1)); then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi
    case ${words[1]} in
        run)
            COMPREPLY=($(compgen -W "--config --pin-dir --help" -- "$cur"))
            ;;
        check)
            COMPREPLY=($(compgen -W "--config --json --diff --socket --help" -- "$cur"))
            ;;
        plan)
            COMPREPLY=($(compgen -W "--config --from $api_opts" -- "$cur"))
            ;;
        peer)
            if ((cword == 2)); then
                COMPREPLY=($(compgen -W "reset" -- "$cur"))
            elif [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--hard $api_opts" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$(_anycastd_peers "$socket")" -- "$cur"))
            fi
            ;;
        cleanup)
            COMPREPLY=($(compgen -W "--config --pin-dir --json --help" -- "$cur"))
            ;;
        show)
            if ((cword == 2)); then
                COMPREPLY=($(compgen -W "$shows" -- "$cur"))
            elif [[ $cur == -* ]]; then
                local extra=""
                [[ ${words[2]} == flows ]] && extra="--limit"
                COMPREPLY=($(compgen -W "$api_opts $extra" -- "$cur"))
            else
                case ${words[2]} in
                    peer) COMPREPLY=($(compgen -W "$(_anycastd_peers "$socket")" -- "$cur")) ;;
                    instances | rings | checks) COMPREPLY=($(compgen -W "$(_anycastd_services "$socket")" -- "$cur")) ;;
                    flows) COMPREPLY=($(compgen -W "$(_anycastd_vips "$socket")" -- "$cur")) ;;
                esac
            fi
            ;;
        drain | undrain)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$api_opts" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$(_anycastd_services "$socket")" -- "$cur"))
            fi
            ;;
        reload)
            COMPREPLY=($(compgen -W "$api_opts" -- "$cur"))
            ;;
        help)
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
            ;;
    esac
} && complete -F _anycastd anycastd
