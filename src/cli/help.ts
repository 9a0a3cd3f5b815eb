/**
 * The help pages of `tokenpak` and its commands, in one light module so that
 * `tokenpak help <command>` loads no command's code.
 */

export const mainHelp = `Usage: tokenpak <command> [options]

Commands:
  proxy             start the proxy
  validate-config   check a config file
  logs              list logged calls
  stats             sum up the call log
  cassettes         list, verify (drift) and prune recorded provider traffic

Run "tokenpak help <command>" (or "tokenpak <command> --help") for a command's options and examples.`;

/** Each command's help page. */
export const commandHelp = {
  proxy: `Usage: tokenpak proxy [--config FILE] [--port N] [--host H] [--env development|production]
                      [--record DIR | --replay DIR] [--watch]

Starts the proxy. SIGTERM or SIGINT stops it gracefully. SIGHUP reloads the
config: a valid one serves new requests (requests in flight finish on the old
one); an invalid one is reported and the old one keeps serving.
  --config FILE   config file (default: $TOKENPAK_CONFIG, or ./tokenpak.config.yaml)
  --port N        overrides server.port (default 8000)
  --host H        overrides server.host (default 127.0.0.1)
  --env production   refuse to start if any model can reach a mock provider
                     (default: production when NODE_ENV=production)
  --record DIR    call the real providers and record every exchange into cassettes
                  under DIR (one file per scenario: the x-tokenpak-cassette header,
                  else cassettes.name)
  --replay DIR    answer the real providers' routes from the cassettes under DIR,
                  never calling an API (no API key needed)
  --watch         reload the config whenever its file changes (as SIGHUP does)

Examples:
  tokenpak proxy --config examples/recipe/config.yaml
  tokenpak proxy --config config.yaml --port 0          # any free port
  NODE_ENV=production tokenpak proxy --config config.prod.yaml
  tokenpak proxy --config config.prod.yaml --replay cassettes/   # no API calls, no keys`,

  'validate-config': `Usage: tokenpak validate-config FILE [--env development|production] [--json]

Checks a config file. Exit codes: 0 valid, 1 invalid, 2 usage error.
  --env production   also fail if any model can reach a mock provider
                     (default: production when NODE_ENV=production)
  --json             print a machine-readable report

Examples:
  tokenpak validate-config examples/recipe/config.yaml
  tokenpak validate-config config.prod.yaml --env production --json`,

  logs: `Usage: tokenpak logs [--provider NAME] [--model NAME] [--status ok|error] [--since 15m|2h|TIME]
                     [--limit N] [--json] [--follow] [--config FILE]

Lists logged calls, newest last. On a terminal it says when no call matches,
and when more calls match than --limit shows.
  --provider NAME   calls in which this provider was attempted (also as a fallback)
  --model NAME      calls for this requested model
  --status S        ok or error
  --since WHEN      calls that started in the last 15m, 2h, 7d, ... or since a time
                    (2025-06-01, 2025-06-01T12:00:00Z)
  --limit N         the newest N matching calls (default 50)
  --json            one JSON object per line
  --follow          keep printing calls as they are logged (Ctrl-C stops)
  --config FILE     read the log this config names (default: $TOKENPAK_CONFIG,
                    ./tokenpak.config.yaml, else .tokenpak/calls.db here)

Examples:
  tokenpak logs --limit 10
  tokenpak logs --provider openai --status error --since 1h
  tokenpak logs --json --since 2025-06-01 | jq .latencyMs
  tokenpak logs --follow --model gpt-4`,

  stats: `Usage: tokenpak stats [--since 15m|2h|TIME] [--json] [--config FILE]

Sums up the call log: calls, errors, fallbacks, p50 and p95 latency, tokens
and cost, in total, per provider and per requested model.
  --since WHEN    only calls that started in the last 15m, 2h, 7d, ... or since a time
  --json          print one JSON object
  --config FILE   read the log this config names (default: $TOKENPAK_CONFIG,
                  ./tokenpak.config.yaml, else .tokenpak/calls.db here)

Per provider, the figures count attempts: "fallbacks" are the attempts made to
it after another provider (or an earlier try) failed. Per model and in total,
they count calls: "fallbacks" are calls that needed more than one attempt.

Examples:
  tokenpak stats
  tokenpak stats --since 24h --json`,

  cassettes: `Usage: tokenpak cassettes <ls|verify|prune> [DIR] [options]

Recorded provider traffic (see "tokenpak proxy --record DIR").
  ls [DIR]                 list the scenarios: exchanges, endpoints, when recorded and last used
  verify [DIR] --config F  send every recorded request to the live API again and report
                           where the answer's shape changed (fields, types, stream event
                           types, tool-call structure), not its wording; exit 1 on drift
  prune [DIR]              delete scenarios no replay has used for --unused-for (default 30d)
    --unused-for DURATION  e.g. 7d, 12h
    --dry-run              say what would be deleted, delete nothing
DIR defaults to the config's cassettes.dir (--config FILE, $TOKENPAK_CONFIG or
./tokenpak.config.yaml), else ./cassettes.

Examples:
  tokenpak cassettes ls test/cassettes
  OPENAI_API_KEY=sk-... tokenpak cassettes verify test/cassettes --config tokenpak.config.yaml
  tokenpak cassettes prune test/cassettes --unused-for 14d --dry-run`,
} as const;

/** A command that has a help page. */
export type CommandName = keyof typeof commandHelp;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(commandHelp, name);
}
