"""Video analysis: sampled frames, face tracks, the face-manipulation model per track, the audio track."""
