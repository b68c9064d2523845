# Shared by the benchmark scripts (sourced, not run). Needs $graft and $out.

# run NAME CMD...: runs a graft command; records "NAME key=value wall_s=W" in $out/results.txt for every
# key=value it prints on stdout (its output is kept in $out/NAME.out and $out/NAME.err)
run() {
  local name="$1"; shift
  local t0 t1
  t0=$(date +%s)
  "$graft" "$@" >"$out/$name.out" 2>"$out/$name.err" || { echo "$name failed; see $out/$name.err" >&2; exit 1; }
  t1=$(date +%s)
  tr ' ' '\n' <"$out/$name.out" | grep -E '^[a-z_]+=[0-9.]+$' | while read -r kv; do
    echo "$name $kv wall_s=$((t1 - t0))" | tee -a "$out/results.txt"
  done
}
