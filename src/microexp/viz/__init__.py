"""Pictures: attention and saliency maps, flow pictures, confusion matrices."""
