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

    /// Runs one completion like [`ChatModel::chat`], handing `sink` each
    /// piece of the answer's text as it arrives (on a backend that streams;
    /// others answer whole and never call it). A retried attempt starts its
    /// text again: `sink` then receives an empty piece first.
    async fn chat_streaming(
        &self,
        request: &ChatRequest,
        sink: &TextSink<'_>,
    ) -> Result<ChatResponse, LlmError> {
        let _ = sink;
        self.chat(request).await
    }

    /// What was loaded and why, a line each (an embedded model's context,
    /// slots, batch, threads and chat template); nothing for a server.
    fn loaded(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Receives pieces of an answer's text as they are generated (see
/// [`ChatModel::chat_streaming`]); an empty piece means "start again".
pub type TextSink<'a> = dyn Fn(&str) + Send + Sync + 'a;

#[async_trait]
impl<M: ChatModel + ?Sized> ChatModel for Arc<M> {
    fn info(&self) -> ModelInfo {
        (**self).info()
    }
    fn loaded(&self) -> Vec<String> {
        (**self).loaded()
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        (**self).chat(request).await
    }
    async fn chat_streaming(
        &self,
        request: &ChatRequest,
        sink: &TextSink<'_>,
    ) -> Result<ChatResponse, LlmError> {
        (**self).chat_streaming(request, sink).await
    }
}

#[async_trait]
impl<M: ChatModel + ?Sized> ChatModel for Box<M> {
    fn info(&self) -> ModelInfo {
        (**self).info()
    }
    fn loaded(&self) -> Vec<String> {
        (**self).loaded()
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        (**self).chat(request).await
    }
    async fn chat_streaming(
        &self,
        request: &ChatRequest,
        sink: &TextSink<'_>,
    ) -> Result<ChatResponse, LlmError> {
        (**self).chat_streaming(request, sink).await
    }
}
