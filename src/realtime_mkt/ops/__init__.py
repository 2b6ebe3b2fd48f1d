"""Operations: the local broker, topic administration and consumer lag."""
