package server

// SetOffsetChunkFault makes the completion of large offsetting sets' chunks fail with f's error (nil f: no
// fault), as a crash between a set's commit point and its completion would leave them.
func SetOffsetChunkFault(s *Server, f func() error) {
	s.satna.mu.Lock()
	defer s.satna.mu.Unlock()
	s.satna.chunkFault = f
}
