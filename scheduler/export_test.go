package scheduler

// RetriesMax lets the external tests count the retries of an occurrence that keeps failing.
const RetriesMax = retriesMax
