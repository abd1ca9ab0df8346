//! The `ChatModel` trait every backend implements.

use crate::{ChatRequest, ChatResponse, LlmError, ModelInfo};
use async_trait::async_trait;
use std::sync::Arc;

/// A chat model: messages in, text or schema-valid JSON out.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// Which backend and model this is, and what it can do.
    fn info(&self) -> ModelInfo;

    /// Runs one completion. With `request.schema` set, a successful answer's
    /// `json` is present and valid against the schema.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;
}

#[async_trait]
impl<M: ChatModel + ?Sized> ChatModel for Arc<M> {
    fn info(&self) -> ModelInfo {
        (**self).info()
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        (**self).chat(request).await
    }
}

#[async_trait]
impl<M: ChatModel + ?Sized> ChatModel for Box<M> {
    fn info(&self) -> ModelInfo {
        (**self).info()
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        (**self).chat(request).await
    }
}
