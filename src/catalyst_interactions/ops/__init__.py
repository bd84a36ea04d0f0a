"""Operations: command registration, endpoint switching, job administration."""
