# For people who run tasvieh with Docker (docker compose up). The README's two commands never need this.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/tasvieh ./cmd/tasvieh

FROM debian:bookworm-slim
RUN useradd --system --create-home --home-dir /var/lib/tasvieh tasvieh
COPY --from=build /out/tasvieh /usr/local/bin/tasvieh
USER tasvieh
EXPOSE 8080
ENV TASVIEH_HOME=/var/lib/tasvieh
WORKDIR /var/lib/tasvieh
ENTRYPOINT ["tasvieh"]
CMD ["serve"]
