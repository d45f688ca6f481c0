FROM alpine:3.19.1@sha256:0000000000000000000000000000000000000000000000000000000000000000
RUN apk add --no-cache --virtual .build-deps gcc=13.2.1_git20231014-r0 musl-dev~1.2 \
 && apk add --no-cache curl jq=1.7.1-r0 \
 && apk del .build-deps
USER 10001
