"""Chat: room lines and whispers, stored before delivery, through a pipeline of stages."""
